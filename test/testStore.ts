/** Real stores in temporary folders, for tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  deriveBackupKeys,
  takeSnapshot,
  type BackupTarget,
  type SnapshotResult,
} from '../src/backup/index.ts';
import {
  initStore,
  loadBackupKey,
  readSettings,
  readSettingsText,
  type SqliteStore,
} from '../src/store/index.ts';

export interface TempStore {
  root: string;
  dataDir: string;
  keyDir: string;
  store: SqliteStore;
  /** Closes the store and removes its folders. */
  cleanup(): Promise<void>;
}

export function tempFolder(prefix = 'chartvault-test-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export function createTempStore(timeZone = 'UTC'): TempStore {
  const folder = tempFolder();
  const dataDir = join(folder.path, 'data');
  const keyDir = join(folder.path, 'keys');
  const { store } = initStore(dataDir, keyDir, timeZone);
  return {
    root: folder.path,
    dataDir,
    keyDir,
    store,
    cleanup: async () => {
      await store.close().catch(() => undefined);
      folder.remove();
    },
  };
}

/**
 * A snapshot of a temporary store taken at `now` (the writer's clock, for retention and full
 * snapshots), continuing from `lastKnown` when given; the store's own backup key.
 */
export async function takeSnapshotAt(
  temp: Pick<TempStore, 'store' | 'dataDir' | 'keyDir'>,
  target: BackupTarget,
  now: Date,
  lastKnown?: string,
): Promise<SnapshotResult> {
  const { storeId } = readSettings(temp.dataDir);
  return takeSnapshot({
    store: temp.store,
    storeId,
    settings: readSettingsText(temp.dataDir),
    keys: deriveBackupKeys(loadBackupKey(temp.keyDir, storeId).key),
    target,
    lastKnown,
    now,
  });
}
