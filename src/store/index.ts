/** The store's public face: open or create a data directory and get a ResourceStore. */
import { createBackupKey, createDataKey, defaultKeyDir, loadDataKey } from './keyStore.ts';
import {
  createDataDirectory,
  databasePath,
  machineTimeZone,
  readSettings,
  restoreDataDirectory,
  type StoreSettings,
} from './dataDirectory.ts';
import { SqliteStore } from './sqlite/sqliteStore.ts';

export type * from './types.ts';
export { StoreError } from './storeError.ts';
export { defaultKeyDir, DATA_KEY_ENV, KEY_DIR_ENV } from './keyStore.ts';
export { isDataDirectory, machineTimeZone, type StoreSettings } from './dataDirectory.ts';
export { SqliteStore } from './sqlite/sqliteStore.ts';
export { readOnlyStore } from './readOnly.ts';
export { osUserAgent } from './osUserAgent.ts';
export { findByCondition } from './conditionalMatch.ts';
export { readSettings, readSettingsText } from './dataDirectory.ts';
export { backupKeyFilePath, createBackupKey, loadBackupKey } from './keyStore.ts';
export type { RawVersion, VersionMark } from './sqlite/versionLog.ts';

export interface OpenedStore {
  store: SqliteStore;
  settings: StoreSettings;
  keySource: string;
}

/** `chartvault init`: a new data directory, a new key in the key folder, and an empty database. */
export function initStore(
  dataDir: string,
  keyDir = defaultKeyDir(),
  timeZone = machineTimeZone(),
): OpenedStore & { keyFile: string; backupKeyFile: string } {
  const settings = createDataDirectory(dataDir, timeZone);
  const { key, file } = createDataKey(keyDir, settings.storeId);
  // The backup master key is made with the store, so that the recovery kit can be printed at once.
  const backupKeyFile = createBackupKey(keyDir, settings.storeId).file;
  const store = SqliteStore.open(databasePath(dataDir), key, { create: true });
  return { store, settings, keySource: file, keyFile: file, backupKeyFile };
}

export function openStore(dataDir: string, keyDir = defaultKeyDir()): OpenedStore {
  const settings = readSettings(dataDir);
  const { key, source } = loadDataKey(keyDir, settings.storeId);
  return { store: SqliteStore.open(databasePath(dataDir), key), settings, keySource: source };
}

/**
 * A restore's new store: the data directory gets the backed-up settings text (same store id), the key
 * folder a new data key of its own, and the database is created empty for the versions to replay.
 */
export function createRestoredStore(
  dataDir: string,
  keyDir: string,
  settingsText: string,
): OpenedStore & { keyFile: string } {
  const settings = restoreDataDirectory(dataDir, settingsText);
  const { key, file } = createDataKey(keyDir, settings.storeId);
  const store = SqliteStore.open(databasePath(dataDir), key, { create: true });
  return { store, settings, keySource: file, keyFile: file };
}
