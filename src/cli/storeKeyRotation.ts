/**
 * Rotation of the data key: the database is re-encrypted under a new key with SQLCipher's rekey.
 *
 * The order makes every crash recoverable. (1) The new key is written durably to `<store>.key.new`.
 * (2) The database is rekeyed, which SQLite does as one transaction. (3) The downtime key, wrapped
 * under the data key, is wrapped again under the new one. (4) `<store>.key.new` is renamed over
 * `<store>.key`. Until (4), the old key file opens the database if (2) did not commit and the pending
 * one does if it did; the next `serve` or `keys rotate-store` tries both and finishes or undoes the
 * rotation. A lock file in the key folder keeps two rotations (or a recovery) from running at once.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readDowntimeSettings, unwrapKey, wrapKey, writeDowntimeSettings } from '../downtime/index.ts';
import { DATA_KEY_ENV, readSettings, StoreError } from '../store/index.ts';
import { databasePath } from '../store/dataDirectory.ts';
import {
  commitPendingDataKey,
  discardPendingDataKey,
  keyFilePath,
  loadDataKey,
  loadPendingDataKey,
  pendingDataKeyFilePath,
  writePendingDataKey,
} from '../store/keyStore.ts';
import { openConnection } from '../store/sqlite/connection.ts';
import { CliError } from './main.ts';
import { acquireLockFile, takeSoleAccess } from './soleAccess.ts';

type Log = (line: string) => void;

export interface StoreKeyRotation {
  keyFile: string;
  seconds: number;
  /** Whether the downtime key was wrapped again under the new key. */
  downtimeRewrapped: boolean;
}

export function rotateStoreKey(dataDir: string, keyDir: string, log: Log): StoreKeyRotation {
  if (process.env[DATA_KEY_ENV]) {
    throw new CliError(
      `The data key comes from $${DATA_KEY_ENV}; rotation writes the new key to the key folder. ` +
        `Unset ${DATA_KEY_ENV} so the key file is used, rotate, then replace the value wherever you keep it.`,
    );
  }
  const { storeId } = readSettings(dataDir);
  loadDataKey(keyDir, storeId); // a missing or unreadable key is reported before anything is locked
  const started = performance.now();
  const release = acquireLockFile(keyDir, `${storeId}.rotation.lock`, 'A data key rotation');
  try {
    finishInterruptedRotation(dataDir, keyDir, storeId, log);
    const oldKey = loadDataKey(keyDir, storeId).key;
    const newKey = randomBytes(32);
    const db = openConnection(databasePath(dataDir), oldKey, { create: false });
    try {
      takeSoleAccess(db, dataDir);
      writePendingDataKey(keyDir, storeId, newKey);
      db.pragma(`rekey="x'${newKey.toString('hex')}'"`);
      db.pragma('journal_mode = WAL');
    } finally {
      db.close();
    }
    if (!opensWith(dataDir, newKey)) {
      // Not expected: SQLite reported success. The pending key stays for the next run to sort out.
      throw new CliError('The database did not open with the new key after rekeying; run the command again.');
    }
    const downtimeRewrapped = rewrapDowntimeKey(dataDir, storeId, oldKey, newKey, log);
    const keyFile = commitPendingDataKey(keyDir, storeId);
    return { keyFile, seconds: (performance.now() - started) / 1000, downtimeRewrapped };
  } finally {
    release();
  }
}

/** What became of a rotation cut short: finished (the new key kept) or undone (the old one kept). */
export type Recovery = 'finished' | 'undone';

/** Serve's check before it opens the store: a rotation cut short is finished or undone first. */
export function recoverInterruptedStoreKeyRotation(
  dataDir: string,
  keyDir: string,
  log: Log,
): Recovery | undefined {
  const { storeId } = readSettings(dataDir);
  if (!existsSync(pendingDataKeyFilePath(keyDir, storeId))) return undefined;
  const release = acquireLockFile(keyDir, `${storeId}.rotation.lock`, 'A data key rotation');
  try {
    return finishInterruptedRotation(dataDir, keyDir, storeId, log);
  } finally {
    release();
  }
}

function finishInterruptedRotation(
  dataDir: string,
  keyDir: string,
  storeId: string,
  log: Log,
): Recovery | undefined {
  const pendingKey = loadPendingDataKey(keyDir, storeId);
  if (!pendingKey) return undefined;
  const currentKey = loadDataKey(keyDir, storeId).key;
  // The old key first: if the rekey did not commit, opening with it also rolls back its journal.
  if (opensWith(dataDir, currentKey)) {
    discardPendingDataKey(keyDir, storeId);
    log('A data key rotation had been interrupted before re-encrypting the store; the store keeps its key.');
    return 'undone';
  }
  if (opensWith(dataDir, pendingKey)) {
    rewrapDowntimeKey(dataDir, storeId, currentKey, pendingKey, log);
    const keyFile = commitPendingDataKey(keyDir, storeId);
    log(`Finished an interrupted data key rotation: the store opens with the new key in ${keyFile}.`);
    return 'finished';
  }
  throw new CliError(
    `Neither ${keyFilePath(keyDir, storeId)} nor its pending replacement (.new) opens the database; ` +
      'restore the key file from the copy you keep elsewhere.',
  );
}

function opensWith(dataDir: string, key: Buffer): boolean {
  try {
    openConnection(databasePath(dataDir), key, { create: false }).close();
    return true;
  } catch (error) {
    if (error instanceof StoreError) return false;
    throw error;
  }
}

/** The downtime key is wrapped under the data key (see docs/security-model.md): wrap it under the new one. */
function rewrapDowntimeKey(
  dataDir: string,
  storeId: string,
  oldKey: Buffer,
  newKey: Buffer,
  log: Log,
): boolean {
  const settings = readDowntimeSettings(dataDir);
  if (!settings) return false;
  const unwrapsWith = (key: Buffer) => {
    try {
      return unwrapKey(key, storeId, settings.wrappedKey);
    } catch {
      return undefined;
    }
  };
  if (unwrapsWith(newKey)) return false;
  const downtimeKey = unwrapsWith(oldKey);
  if (!downtimeKey) {
    log(
      'Warning: the downtime key could not be unwrapped; run chartvault downtime setup --passphrase-file again.',
    );
    return false;
  }
  writeDowntimeSettings(dataDir, { ...settings, wrappedKey: wrapKey(newKey, storeId, downtimeKey) });
  return true;
}
