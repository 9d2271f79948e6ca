/**
 * What this store last wrote to each target (`backup-state.json` in the data directory: target paths
 * and snapshot names, no patient data). With it a run reads one manifest instead of every manifest in
 * the target, so a minute with no change costs two small reads. It is only a hint: when the named
 * snapshot is not in the target (another disk of a rotation, a target emptied), the run lists the
 * target as if there were no state.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const STATE_FILE = 'backup-state.json';

interface BackupState {
  targets: Record<string, string>;
  /** The last successful run to each target, for `backup status`. */
  runs?: Record<string, TargetRun>;
}

export interface TargetRun {
  /** When the run ended (ISO 8601). */
  at: string;
  snapshot: string;
  /** For a directory target: the disk it was on at that run. */
  disk?: { mountPoint: string; source: string; removable: boolean };
}

function read(dataDir: string): BackupState {
  try {
    const state = JSON.parse(readFileSync(join(resolve(dataDir), STATE_FILE), 'utf8')) as BackupState;
    return typeof state.targets === 'object' && state.targets ? state : { targets: {} };
  } catch {
    return { targets: {} };
  }
}

export function lastSnapshotIn(dataDir: string, target: string): string | undefined {
  const name = read(dataDir).targets[target];
  return typeof name === 'string' && /^[0-9a-f]{64}$/.test(name) ? name : undefined;
}

/** The last successful run to every target this store has written to. */
export function targetRuns(dataDir: string): Record<string, TargetRun> {
  const state = read(dataDir);
  const runs: Record<string, TargetRun> = {};
  // Stores that backed up before runs were recorded know their targets only.
  for (const [target, snapshot] of Object.entries(state.targets)) runs[target] = { at: '', snapshot };
  return { ...runs, ...(typeof state.runs === 'object' && state.runs ? state.runs : {}) };
}

export function rememberSnapshot(dataDir: string, target: string, name: string, run?: TargetRun): void {
  const state = read(dataDir);
  state.targets[target] = name;
  if (run) state.runs = { ...state.runs, [target]: run };
  const file = join(resolve(dataDir), STATE_FILE);
  const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temporary, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  renameSync(temporary, file);
}
