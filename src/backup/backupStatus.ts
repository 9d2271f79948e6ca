/**
 * How the practice's backups stand, from facts: for each target this store has written to, its newest
 * snapshot and age, whether it can be reached now, and what kind of copy it is (a removable disk
 * disconnected since its last run is the offline copy; a receiver is the append-only one; an S3 bucket
 * with Object Lock is the immutable one); then the
 * last restore drill. Judged against the 3-2-1-1-0 rule and the 48-hour backup age of HHS's proposed
 * HIPAA Security Rule.
 */
import { existsSync } from 'node:fs';
import { readDrills, type DrillRecord } from './drill.ts';
import { targetRuns, type TargetRun } from './backupState.ts';
import { diskOf, type SystemFiles } from './removableDisk.ts';

export const MAX_AGE_HOURS = 48;

export type CopyKind = 'offline' | 'append-only' | 'immutable' | 'online';

export interface TargetStatus {
  target: string;
  kind: 'directory' | 'receiver' | 's3';
  lastRun?: string;
  snapshot: string;
  ageHours?: number;
  /** A directory that is there now (mounted); undefined for a receiver (not contacted by status). */
  reachable?: boolean;
  removable?: boolean;
  copy: CopyKind;
  fresh: boolean;
}

export interface BackupStatus {
  targets: TargetStatus[];
  lastDrill?: DrillRecord;
  lastPassedDrill?: DrillRecord;
  /** Plain findings, worst first: what the security point person should act on. */
  findings: string[];
}

export function backupStatus(dataDir: string, now = Date.now(), system?: SystemFiles): BackupStatus {
  const targets = Object.entries(targetRuns(dataDir)).map(([target, run]) =>
    targetStatus(target, run, now, system),
  );
  const drills = readDrills(dataDir);
  const lastDrill = drills.at(-1);
  const lastPassedDrill = drills.filter((d) => d.outcome === 'passed').at(-1);
  return {
    targets,
    lastDrill,
    lastPassedDrill,
    findings: findings(targets, lastDrill, lastPassedDrill, now),
  };
}

function targetStatus(target: string, run: TargetRun, now: number, system?: SystemFiles): TargetStatus {
  const ageHours = run.at ? (now - Date.parse(run.at)) / 3_600_000 : undefined;
  const fresh = ageHours !== undefined && ageHours <= MAX_AGE_HOURS;
  const common = { target, lastRun: run.at || undefined, snapshot: run.snapshot, ageHours, fresh };
  if (target.startsWith('s3://')) return { ...common, kind: 's3', copy: 'immutable' };
  if (target.startsWith('receiver ')) return { ...common, kind: 'receiver', copy: 'append-only' };
  const disk = diskOf(target, system);
  // Reachable: the folder is there and still on the disk it was written to (not the empty mount point).
  const reachable = existsSync(target) && (!run.disk || disk?.source === run.disk.source);
  const removable = run.disk?.removable === true;
  return {
    ...common,
    kind: 'directory',
    reachable,
    removable,
    copy: removable && !reachable ? 'offline' : 'online',
  };
}

function findings(
  targets: TargetStatus[],
  lastDrill: DrillRecord | undefined,
  lastPassedDrill: DrillRecord | undefined,
  now: number,
): string[] {
  const out: string[] = [];
  const freshCopies = targets.filter((t) => t.fresh);
  if (targets.length === 0) out.push('No backup has been taken: run chartvault backup run --to TARGET.');
  else if (freshCopies.length === 0)
    out.push(`No backup is younger than ${MAX_AGE_HOURS} hours: run a backup now and check the schedule.`);
  if (!targets.some((t) => t.copy !== 'online'))
    out.push(
      'No offline, append-only or locked copy: every copy can be erased from this server. Unplug a removable backup disk after its run, pair a receiver, or add an S3 bucket with Object Lock.',
    );
  if (targets.length > 0 && targets.length < 2)
    out.push('Only one backup target: keep at least two copies on different media (3-2-1).');
  for (const t of targets)
    if (t.kind === 'directory' && t.reachable && t.removable)
      out.push(`${t.target} is still connected: unplug it so that it becomes the offline copy.`);
  if (!lastDrill)
    out.push('No restore drill yet: run chartvault backup drill --from TARGET --kit KIT --data DIR.');
  else if (lastDrill.outcome === 'failed')
    out.push(`The last restore drill FAILED (${lastDrill.at}): ${lastDrill.error}`);
  else if (lastPassedDrill && now - Date.parse(lastPassedDrill.at) > 90 * 86_400_000)
    out.push('The last passed restore drill is older than 90 days: rehearse again.');
  return out;
}
