/** The store's SQLite file opened directly with its data key, as an attacker with the key would. */
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3-multiple-ciphers';

/** The encrypted database of the store in `dataDir`, opened raw (no store code, no checks). */
export function openRawDatabase(dataDir: string, keyDir: string, storeId: string): Database.Database {
  const key = readFileSync(join(keyDir, `${storeId}.key`), 'utf8').trim();
  const db = new Database(join(dataDir, 'chartvault.db'));
  db.pragma(`cipher='sqlcipher'`);
  db.pragma('legacy=4');
  db.pragma(`key="x'${key}'"`);
  return db;
}

/**
 * Copies the store at `original` to `copy` and edits the copy with `tamper` on the raw database, after
 * dropping the named triggers (as an attacker would); returns `copy`.
 */
export function tamperedCopy(
  original: string,
  copy: string,
  keyDir: string,
  storeId: string,
  triggers: string[],
  tamper: (db: Database.Database) => void,
): string {
  cpSync(original, copy, { recursive: true });
  const db = openRawDatabase(copy, keyDir, storeId);
  for (const trigger of triggers) db.exec(`DROP TRIGGER IF EXISTS ${trigger}`);
  try {
    tamper(db);
  } finally {
    db.close();
  }
  return copy;
}
