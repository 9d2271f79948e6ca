/**
 * A restore drill: the newest snapshot (or a chosen one) restored from a target into a throw-away
 * store, with every check a real restore makes, timed, then removed. It proves that the kit and the
 * target can bring the practice back, and how long that takes, without touching the live store.
 * Each drill is kept as a line of `backup-drills.jsonl` in the live store's data directory (no
 * patient data), which `backup status` reads.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openStore } from '../store/index.ts';
import type { RecoveryKit } from './kitFile.ts';
import { restoreSnapshot } from './restore.ts';
import type { BackupTarget } from './target.ts';

export const DRILL_LOG = 'backup-drills.jsonl';

export interface DrillRecord {
  /** When the drill ran (ISO 8601). */
  at: string;
  target: string;
  outcome: 'passed' | 'failed';
  snapshot?: string;
  /** When the restored snapshot was taken. */
  snapshotTakenAt?: string;
  resources?: number;
  versions?: number;
  /** Time to restore and check, in seconds: the recovery time this drill measured. */
  seconds: number;
  error?: string;
}

export async function runDrill(input: {
  target: BackupTarget;
  kit: RecoveryKit;
  snapshot?: string;
}): Promise<DrillRecord> {
  const started = performance.now();
  const at = new Date().toISOString();
  // A private folder (mkdtemp makes it 0700); the restored store in it is encrypted under a new key.
  const folder = mkdtempSync(join(tmpdir(), 'chartvault-drill-'));
  try {
    const dataDir = join(folder, 'data');
    const keyDir = join(folder, 'keys');
    const result = await restoreSnapshot({ ...input, dataDir, keyDir });
    // The restored store must open and answer as a served one would.
    const { store } = openStore(dataDir, keyDir);
    let resources: number;
    try {
      resources = Object.values(await store.countByType()).reduce((a, b) => a + b, 0);
    } finally {
      await store.close();
    }
    return {
      at,
      target: input.target.description,
      outcome: 'passed',
      snapshot: result.snapshot.name,
      snapshotTakenAt: result.snapshot.manifest.createdAt,
      resources,
      versions: result.versions,
      seconds: (performance.now() - started) / 1000,
    };
  } catch (error) {
    return {
      at,
      target: input.target.description,
      outcome: 'failed',
      seconds: (performance.now() - started) / 1000,
      error: (error as Error).message.slice(0, 500),
    };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

export function recordDrill(dataDir: string, record: DrillRecord): void {
  appendFileSync(join(resolve(dataDir), DRILL_LOG), JSON.stringify(record) + '\n', { mode: 0o600 });
}

/** Every drill recorded for a store, oldest first; lines that cannot be read are skipped. */
export function readDrills(dataDir: string): DrillRecord[] {
  let text: string;
  try {
    text = readFileSync(join(resolve(dataDir), DRILL_LOG), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as DrillRecord];
      } catch {
        return [];
      }
    });
}
