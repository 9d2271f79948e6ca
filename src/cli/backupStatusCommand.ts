/** `chartvault backup status`: where the backups are, how old, which copy is offline, the last drill. */
import { resolve } from 'node:path';
import { backupStatus, MAX_AGE_HOURS, shortId, type TargetStatus } from '../backup/index.ts';
import { isDataDirectory } from '../store/index.ts';
import { CliError } from './main.ts';

export function backupStatusCommand(options: { data: string; json?: boolean }): void {
  if (!isDataDirectory(options.data))
    throw new CliError(
      `${resolve(options.data)} is not a ChartVault data directory; pass --data with the store.`,
    );
  const status = backupStatus(options.data);
  if (options.json) {
    console.log(JSON.stringify(status, null, 2));
    return;
  }
  console.log(`Backups of ${resolve(options.data)}:`);
  if (status.targets.length === 0) console.log('  (none yet)');
  for (const t of status.targets) {
    console.log(`  ${t.target}`);
    console.log(`      ${describe(t)}`);
    console.log(`      ${lastRun(t)}`);
  }
  const drill = status.lastDrill;
  console.log(
    drill
      ? `Last restore drill: ${drill.outcome} ${drill.at}, ${drill.seconds.toFixed(1)} s` +
          (drill.outcome === 'passed'
            ? ` to restore ${drill.resources} resources from ${drill.target}.`
            : `: ${drill.error}`)
      : 'Last restore drill: none.',
  );
  if (status.findings.length === 0)
    console.log('Nothing to do: fresh backups, an offline or append-only copy, a recent drill.');
  else {
    console.log('To do:');
    for (const finding of status.findings) console.log(`  - ${finding}`);
  }
}

function describe(t: TargetStatus): string {
  if (t.kind === 'receiver')
    return 'append-only receiver: the server can add backups, never change or delete them';
  if (t.kind === 's3')
    return 'S3 with Object Lock (compliance mode): objects cannot be deleted until their retention ends';
  const disk = t.removable ? 'on a removable disk' : 'on a fixed disk or share';
  if (t.copy === 'offline') return `directory ${disk}, disconnected since its last run: the offline copy`;
  return `directory ${disk}, ${t.reachable ? 'connected now (erasable from this server)' : 'not reachable now'}`;
}

function lastRun(t: TargetStatus): string {
  if (!t.lastRun) return `last snapshot ${shortId(t.snapshot)} (time of the run not recorded)`;
  const age = t.ageHours!;
  const ageText = age < 48 ? `${age.toFixed(1)} hours ago` : `${(age / 24).toFixed(1)} days ago`;
  return `last run ${t.lastRun} (${ageText}${t.fresh ? '' : `, older than ${MAX_AGE_HOURS} hours`}), snapshot ${shortId(t.snapshot)}`;
}
