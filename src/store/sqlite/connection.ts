/** Opening the encrypted SQLite database with the settings every connection needs. */
import Database from 'better-sqlite3-multiple-ciphers';
import { StoreError } from '../storeError.ts';

export type Connection = Database.Database;

/**
 * Opens (or creates) the database with SQLCipher page encryption (AES-256) under a raw 256-bit key,
 * and checks the key at once so that a wrong key is a clear error, never a half-open store.
 */
export function openConnection(file: string, key: Buffer, options: { create: boolean }): Connection {
  let db: Connection;
  try {
    db = new Database(file, { fileMustExist: !options.create, timeout: 15000 });
  } catch (error) {
    throw new StoreError(`Cannot open the database ${file}: ${(error as Error).message}`);
  }
  try {
    db.pragma(`cipher='sqlcipher'`);
    db.pragma('legacy=4');
    db.pragma(`key="x'${key.toString('hex')}'"`);
    db.prepare('SELECT count(*) FROM sqlite_master').get();
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code === 'SQLITE_NOTADB') {
      throw new StoreError(
        `The data key does not open ${file}: it is the wrong key for this store, or the file is damaged.`,
      );
    }
    throw error;
  }
  // WAL lets readers run beside one writer, and lets the CLI write while `serve` runs.
  db.pragma('journal_mode = WAL');
  // FULL: a commit is on disk (fsync of the WAL) before it is acknowledged, so a power cut loses no
  // acknowledged write. NORMAL would be faster but could drop the last commits.
  db.pragma('synchronous = FULL');
  // Sorts and temporary indexes stay in memory: no unencrypted temporary files on disk.
  db.pragma('temp_store = MEMORY');
  db.pragma('foreign_keys = OFF');
  db.pragma('cache_size = -65536');
  return db;
}
