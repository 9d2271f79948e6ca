/**
 * The data key: 32 random bytes that open the encrypted database. It lives outside the data directory,
 * in a key folder only its owner can read, so that a copy of the data directory alone is useless.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { StoreError } from './storeError.ts';

/** Environment variable that can carry the data key (64 hex characters) instead of a key file. */
export const DATA_KEY_ENV = 'CHARTVAULT_DATA_KEY';
/** Environment variable that names the key folder when `--key-dir` is not given. */
export const KEY_DIR_ENV = 'CHARTVAULT_KEY_DIR';

export function defaultKeyDir(): string {
  return process.env[KEY_DIR_ENV] ?? join(homedir(), '.config', 'chartvault', 'keys');
}

export function keyFilePath(keyDir: string, storeId: string): string {
  return join(resolve(keyDir), `${storeId}.key`);
}

/** Makes a new key and writes it, owner-only, to the key folder. Refuses to overwrite an existing key. */
export function createDataKey(keyDir: string, storeId: string): { key: Buffer; file: string } {
  return writeKeyFile(keyFilePath(keyDir, storeId), randomBytes(32), `A key for store ${storeId}`);
}

/**
 * The backup master key (see docs/backup-format.md): beside the data key, same rules. It is printed
 * in the recovery kit; a restore writes the kit's key back so that backups go on into the same target.
 */
export function backupKeyFilePath(keyDir: string, storeId: string): string {
  return join(resolve(keyDir), `${storeId}.backup.key`);
}

export function createBackupKey(keyDir: string, storeId: string, key: Buffer = randomBytes(32)) {
  return writeKeyFile(backupKeyFilePath(keyDir, storeId), key, `A backup key for store ${storeId}`);
}

export function loadBackupKey(keyDir: string, storeId: string): { key: Buffer; file: string } {
  const file = backupKeyFilePath(keyDir, storeId);
  if (!existsSync(file)) {
    throw new StoreError(
      `No backup key for this store: ${file} does not exist. Pass --key-dir with the folder that holds ` +
        `${storeId}.backup.key (a store made before backups existed: run chartvault kit to create one).`,
    );
  }
  assertPrivate(resolve(keyDir), 'key folder', '700');
  assertPrivate(file, 'key file', '600');
  return { key: parseKey(readFileSync(file, 'utf8').trim(), file), file };
}

function writeKeyFile(file: string, key: Buffer, what: string): { key: Buffer; file: string } {
  const keyDir = dirname(file);
  mkdirSync(keyDir, { recursive: true, mode: 0o700 });
  chmodSync(keyDir, 0o700);
  if (existsSync(file)) throw new StoreError(`${what} already exists at ${file}; not overwriting it.`);
  writeFileSync(file, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  return { key, file };
}

/** Loads the key for a store from the environment or the key folder, refusing files others can read. */
export function loadDataKey(keyDir: string, storeId: string): { key: Buffer; source: string } {
  const fromEnv = process.env[DATA_KEY_ENV];
  if (fromEnv) return { key: parseKey(fromEnv.trim(), `$${DATA_KEY_ENV}`), source: `$${DATA_KEY_ENV}` };
  const file = keyFilePath(keyDir, storeId);
  if (!existsSync(file)) {
    throw new StoreError(
      `No data key for this store: ${file} does not exist. Pass --key-dir with the folder that holds ` +
        `${storeId}.key, or set ${DATA_KEY_ENV}.`,
    );
  }
  assertPrivate(resolve(keyDir), 'key folder', '700');
  assertPrivate(file, 'key file', '600');
  return { key: parseKey(readFileSync(file, 'utf8').trim(), file), source: file };
}

function parseKey(text: string, where: string): Buffer {
  if (!/^[0-9a-fA-F]{64}$/.test(text)) {
    throw new StoreError(
      `The data key in ${where} is not 64 hexadecimal characters; restore the key file from your recovery kit.`,
    );
  }
  return Buffer.from(text, 'hex');
}

function assertPrivate(path: string, what: string, mode: string): void {
  if ((statSync(path).mode & 0o077) !== 0) {
    throw new StoreError(`The ${what} ${path} can be read by other users; run: chmod ${mode} ${path}`);
  }
}

// ---- Other private files in the key folder, and rotation of the data key ----

/** The TLS private key (PEM): beside the data key, under the same rules. */
export function tlsKeyFilePath(keyDir: string, storeId: string): string {
  return join(resolve(keyDir), `${storeId}.tls.key`);
}

/**
 * Writes (or replaces) an owner-only file in the key folder atomically: a temporary file, fsync,
 * rename, fsync of the folder, so a crash leaves either the old file or the new one, never half of one.
 */
export function writePrivateFile(file: string, text: string): void {
  const keyDir = dirname(file);
  mkdirSync(keyDir, { recursive: true, mode: 0o700 });
  chmodSync(keyDir, 0o700);
  const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  writeDurably(temporary, text);
  renameSync(temporary, file);
  syncFolder(keyDir);
}

/** Reads an owner-only file of the key folder, refusing it (and the folder) when others can read them. */
export function readPrivateFile(file: string, what: string): string {
  assertPrivate(dirname(file), 'key folder', '700');
  assertPrivate(file, what, '600');
  return readFileSync(file, 'utf8');
}

/**
 * A data-key rotation writes the new key here first, durably, before the database is re-encrypted;
 * until it is renamed over `<store>.key`, one of the two files holds the key that opens the database.
 */
export function pendingDataKeyFilePath(keyDir: string, storeId: string): string {
  return `${keyFilePath(keyDir, storeId)}.new`;
}

export function writePendingDataKey(keyDir: string, storeId: string, key: Buffer): string {
  const file = pendingDataKeyFilePath(keyDir, storeId);
  if (existsSync(file)) throw new StoreError(`A pending data key already exists at ${file}.`);
  writeDurably(file, key.toString('hex') + '\n');
  syncFolder(dirname(file));
  return file;
}

export function loadPendingDataKey(keyDir: string, storeId: string): Buffer | undefined {
  const file = pendingDataKeyFilePath(keyDir, storeId);
  if (!existsSync(file)) return undefined;
  return parseKey(readPrivateFile(file, 'key file').trim(), file);
}

/** The database now opens with the pending key: it becomes the data key (one atomic rename). */
export function commitPendingDataKey(keyDir: string, storeId: string): string {
  const file = keyFilePath(keyDir, storeId);
  renameSync(pendingDataKeyFilePath(keyDir, storeId), file);
  syncFolder(dirname(file));
  return file;
}

/** The database still opens with the current key: the pending one was never used. */
export function discardPendingDataKey(keyDir: string, storeId: string): void {
  rmSync(pendingDataKeyFilePath(keyDir, storeId), { force: true });
  syncFolder(resolve(keyDir));
}

function writeDurably(file: string, text: string): void {
  const fd = openSync(file, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function syncFolder(folder: string): void {
  const fd = openSync(folder, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
