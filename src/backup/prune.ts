/**
 * Retention applied to a target that allows deletion (a directory target; an S3 bucket once an
 * object's lock has run out). The receiver prunes on its own machine by its own arrival times
 * (receiver/receiverPrune.ts). Manifests go before the objects only they listed, so an interrupted
 * prune never leaves a listed snapshot without its objects; a manifest that does not open stops the
 * prune before anything is removed.
 */
import { loadBackupKey, type AuditAgent, type SqliteStore } from '../store/index.ts';
import { BackupError } from './backupError.ts';
import { acquireBackupLock } from './backupLock.ts';
import { deriveBackupKeys, type BackupKeys } from './backupKeys.ts';
import { openRepository } from './repository.ts';
import { nameOfPath, objectPath } from './repositoryFormat.ts';
import {
  addWithAncestors,
  keptSnapshots,
  unneededObjects,
  type RetentionPolicy,
  type StoredObject,
} from './retention.ts';
import { loadSnapshots, newest } from './snapshotManifest.ts';
import type { BackupTarget } from './target.ts';

export interface PruneTargetInput {
  target: BackupTarget;
  keys: BackupKeys;
  storeId: string;
  policy: RetentionPolicy;
  now?: Date;
  dryRun?: boolean;
}

export interface TargetPruneReport {
  snapshots: number;
  kept: number;
  /** Snapshot manifests and data objects removed (or that would be, with dryRun). */
  removed: string[];
  bytesRemoved: number;
  /** Objects retention would remove that the target still locks (S3 Object Lock): removed later. */
  locked: string[];
}

export async function pruneTarget(input: PruneTargetInput): Promise<TargetPruneReport> {
  const { target, keys } = input;
  const { listStored, remove } = target;
  if (!listStored || !remove)
    throw new BackupError(
      `${target.description} does not allow deletion: retention there runs on the receiver's own machine (chartvault receiver prune).`,
    );
  const now = input.now ?? new Date();
  await openRepository(target, keys, input.storeId);
  const { snapshots, broken } = await loadSnapshots(target, keys);
  if (broken.length > 0)
    throw new BackupError(
      `${broken.length} snapshot manifest(s) in ${target.description} do not open (${broken.map((b) => b.path).join(', ')}); nothing was removed. Run chartvault backup verify.`,
    );
  const kept = keptSnapshots({
    snapshots,
    policy: input.policy,
    now,
    timeOf: (s) => new Date(s.manifest.createdAt),
  });
  const byName = new Map(snapshots.map((s) => [s.name, s]));
  const manifests = await listStored.call(target, 'snapshots/');
  const storedAt = new Map(manifests.map((o) => [o.path, o.storedAt]));
  const latest = newest(snapshots);
  const newestStoredAt = (latest && storedAt.get(objectPath('snapshot', latest.name))) || new Date(0);
  const goingSnapshots = manifests.filter((o) => {
    const name = nameOfPath('snapshot', o.path);
    return name !== undefined && byName.has(name) && !kept.has(name);
  });
  const report: TargetPruneReport = {
    snapshots: snapshots.length,
    kept: kept.size,
    removed: [],
    bytesRemoved: 0,
    locked: [],
  };
  const removeAll = async (objects: StoredObject[]) => {
    for (const object of objects) {
      if (!input.dryRun && (await remove.call(target, object.path)) === 'locked') {
        report.locked.push(object.path);
        continue;
      }
      report.removed.push(object.path);
      report.bytesRemoved += object.size;
    }
  };
  // Newest first: a manifest still locked keeps its snapshot listed, so it keeps its ancestors and
  // every object they list too.
  const listedStill = new Set(kept);
  for (const object of goingSnapshots.sort((a, b) => b.storedAt.getTime() - a.storedAt.getTime())) {
    const name = nameOfPath('snapshot', object.path)!;
    if (listedStill.has(name)) continue;
    await removeAll([object]);
    if (report.locked.at(-1) === object.path) addWithAncestors(byName.get(name)!, byName, listedStill);
  }
  await removeAll(
    unneededObjects(snapshots, listedStill, await listStored.call(target, 'packs/'), newestStoredAt, (path) =>
      nameOfPath('pack', path),
    ),
  );
  return report;
}

export const describePrune = (r: TargetPruneReport, dryRun = false) =>
  `${r.snapshots} snapshots, ${r.kept} kept by the retention; ${dryRun ? 'would remove' : 'removed'} ` +
  `${r.removed.filter((p) => p.startsWith('snapshots/')).length} snapshots and ` +
  `${r.removed.filter((p) => !p.startsWith('snapshots/')).length} data objects ` +
  `(${(r.bytesRemoved / 1024 / 1024).toFixed(2)} MB)` +
  (r.locked.length ? `; ${r.locked.length} objects are still locked and go once their lock runs out` : '') +
  '.';

export interface PruneRunInput {
  store: SqliteStore;
  dataDir: string;
  keyDir: string;
  storeId: string;
  target: BackupTarget;
  policy: RetentionPolicy;
  agent: AuditAgent;
  dryRun?: boolean;
  now?: Date;
}

/**
 * A prune as `backup prune` and the nightly schedule run it: under the store's backup lock (so no
 * snapshot is being written meanwhile), recorded in the audit trail, success or failure.
 */
export async function runPrune(input: PruneRunInput): Promise<TargetPruneReport> {
  const release = acquireBackupLock(input.dataDir);
  const record = (outcome: 'success' | 'failure', detail: Record<string, string | number>) =>
    input.store.appendAudit({
      agent: input.agent,
      action: 'prune',
      outcome,
      detail: { target: input.target.description, ...detail },
    });
  try {
    const report = await pruneTarget({
      target: input.target,
      keys: deriveBackupKeys(loadBackupKey(input.keyDir, input.storeId).key),
      storeId: input.storeId,
      policy: input.policy,
      now: input.now,
      dryRun: input.dryRun,
    }).catch(async (error: unknown) => {
      await record('failure', { error: (error as Error).message.slice(0, 300) });
      throw error;
    });
    if (!input.dryRun)
      await record('success', {
        kept: report.kept,
        removed: report.removed.length,
        locked: report.locked.length,
      });
    return report;
  } finally {
    release();
  }
}
