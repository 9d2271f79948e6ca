/** `chartvault backup drill`: restore into a throw-away store, check it, time it, and keep the result. */
import { AuditTrail, commandLineAgent } from '../audit/index.ts';
import { recordDrill, runDrill, shortId } from '../backup/index.ts';
import { openStore } from '../store/index.ts';
import { asCliError, openTarget, readKitFile } from './backupCommand.ts';
import { CliError } from './main.ts';

export async function backupDrillCommand(options: {
  from: string;
  kit: string;
  data?: string;
  keyDir: string;
  snapshot?: string;
  pairedData?: string;
}): Promise<void> {
  await asCliError(async () => {
    const kit = readKitFile(options.kit);
    const target = openTarget(options.from, options.pairedData ?? options.data);
    const record = await runDrill({ target, kit, snapshot: options.snapshot });
    if (options.data) {
      recordDrill(options.data, record);
      await auditDrill(options.data, options.keyDir, record);
    }
    if (record.outcome === 'failed')
      throw new CliError(
        `Drill FAILED after ${record.seconds.toFixed(2)} s: ${record.error} Nothing of the live store was touched.`,
      );
    const ageHours = (Date.parse(record.at) - Date.parse(record.snapshotTakenAt!)) / 3_600_000;
    console.log(
      `Drill passed: snapshot ${shortId(record.snapshot!)} (taken ${record.snapshotTakenAt}, ${ageHours.toFixed(1)} hours old) ` +
        `from ${record.target} restored into a throw-away store and checked: ${record.resources} resources, ` +
        `${record.versions} versions, in ${record.seconds.toFixed(2)} s. The throw-away store has been removed.`,
    );
    if (!options.data)
      console.log(
        'Pass --data with the live store to keep this result for backup status and the audit trail.',
      );
  });
}

async function auditDrill(dataDir: string, keyDir: string, record: Awaited<ReturnType<typeof runDrill>>) {
  const { store, settings } = openStore(dataDir, keyDir);
  try {
    const trail = await AuditTrail.open({ store, dataDir, keyDir, storeId: settings.storeId });
    await store.appendAudit({
      agent: commandLineAgent(),
      action: 'drill',
      outcome: record.outcome === 'passed' ? 'success' : 'failure',
      detail: {
        target: record.target,
        seconds: Math.round(record.seconds),
        ...(record.snapshot ? { snapshot: record.snapshot } : {}),
        ...(record.error ? { error: record.error.slice(0, 300) } : {}),
      },
    });
    await trail.close();
  } finally {
    await store.close();
  }
}
