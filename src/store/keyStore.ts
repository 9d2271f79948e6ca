/**
 * The data key: 32 random bytes that open the encrypted database. It lives outside the data directory,
 * in a key folder only its owner can read, so that a copy of the data directory alone is useless.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs';
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
