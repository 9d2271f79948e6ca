/**
 * One backup run to one target, as `chartvault backup run` and the schedule inside `serve` both do it:
 * under the store's backup lock (a manual run and the schedule never overlap), from the target's last
 * known snapshot, remembered for `backup status`, and written to the audit trail, success or failure.
 */
import type { AuditAgent } from '../store/index.ts';
import { knownAuditPublicKeys } from '../audit/signingKey.ts';
import { loadBackupKey, readSettingsText, type SqliteStore } from '../store/index.ts';
import { acquireBackupLock } from './backupLock.ts';
import { deriveBackupKeys } from './backupKeys.ts';
import { lastSnapshotIn, rememberSnapshot } from './backupState.ts';
import { DirectoryTarget } from './directoryTarget.ts';
import { diskOf } from './removableDisk.ts';
import { takeSnapshot, type SnapshotResult } from './snapshotWriter.ts';
import type { BackupTarget } from './target.ts';

export interface BackupRunInput {
  store: SqliteStore;
  dataDir: string;
  keyDir: string;
  storeId: string;
  target: BackupTarget;
  agent: AuditAgent;
}

export async function runBackup(input: BackupRunInput): Promise<SnapshotResult> {
  const { store, dataDir, keyDir, storeId, target } = input;
  const release = acquireBackupLock(dataDir);
  const record = (outcome: 'success' | 'failure', detail: Record<string, string | number>) =>
    store.appendAudit({
      agent: input.agent,
      action: 'backup',
      outcome,
      detail: { target: target.description, ...detail },
    });
  try {
    const keys = deriveBackupKeys(loadBackupKey(keyDir, storeId).key);
    const result = await takeSnapshot({
      store,
      storeId,
      settings: readSettingsText(dataDir),
      keys,
      target,
      lastKnown: lastSnapshotIn(dataDir, target.description),
      auditKeys: knownAuditPublicKeys(keyDir, dataDir, storeId),
    })
      .then(async (taken) => {
        if (!taken.unchanged) await target.afterSnapshot?.(taken.name, keys);
        return taken;
      })
      .catch(async (error: unknown) => {
        await record('failure', { error: (error as Error).message.slice(0, 300) });
        throw error;
      });
    const disk = target instanceof DirectoryTarget ? diskOf(target.root) : undefined;
    rememberSnapshot(dataDir, target.description, result.name, {
      at: new Date().toISOString(),
      snapshot: result.name,
      ...(disk ? { disk } : {}),
    });
    await record('success', {
      snapshot: result.name,
      versions: result.versions,
      ...(result.unchanged ? { unchanged: 1 } : {}),
    });
    return result;
  } finally {
    release();
  }
}
