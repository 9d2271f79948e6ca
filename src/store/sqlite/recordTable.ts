/**
 * Security records (accounts, clients, sessions, used token ids, throttling counters): small JSON
 * documents by kind and id, kept in the encrypted database beside the resources but outside FHIR, so
 * that they are never searchable or exported as chart data. Made when the store opens (not in the
 * versioned schema): `CREATE TABLE IF NOT EXISTS` is cheap and leaves older stores readable.
 */
import type { RawRecord, RecordEntry, SecurityRecords } from '../types.ts';
import type { Connection } from './connection.ts';

const RECORD_TABLE_SQL = `
CREATE TABLE IF NOT EXISTS system_record (
  kind TEXT NOT NULL,
  id TEXT NOT NULL,
  json TEXT NOT NULL,
  updated INTEGER NOT NULL,
  expires INTEGER,
  PRIMARY KEY (kind, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS system_record_expires ON system_record (expires) WHERE expires IS NOT NULL;
`;

/** Creates the table when missing; run on the writer connection as the store opens. */
export function ensureRecordTable(db: Connection): void {
  db.exec(RECORD_TABLE_SQL);
}

interface RecordRow {
  id: string;
  json: string;
  updated: number;
  expires: number | null;
}

/**
 * The records of one connection, synchronous. The store wraps it: reads outside a transaction go to
 * the reader connection (committed data only), writes and reads inside a transaction to the writer.
 */
export class RecordTable {
  private readonly getStatement;
  private readonly listStatement;
  private readonly putStatement;
  private readonly insertStatement;
  private readonly deleteStatement;
  private readonly purgeStatement;
  private readonly rawStatement;
  private readonly insertRawStatement;

  constructor(db: Connection) {
    this.rawStatement = db.prepare<[string], RawRecord>(
      'SELECT kind, id, json, updated, expires FROM system_record WHERE kind IN (SELECT value FROM json_each(?)) ORDER BY kind, id',
    );
    this.insertRawStatement = db.prepare(
      'INSERT INTO system_record (kind, id, json, updated, expires) VALUES (@kind, @id, @json, @updated, @expires)',
    );
    this.getStatement = db.prepare<[string, string, number], RecordRow>(
      'SELECT id, json, updated, expires FROM system_record WHERE kind = ? AND id = ? AND (expires IS NULL OR expires > ?)',
    );
    this.listStatement = db.prepare<[string, number], RecordRow>(
      'SELECT id, json, updated, expires FROM system_record WHERE kind = ? AND (expires IS NULL OR expires > ?) ORDER BY id',
    );
    this.putStatement = db.prepare(
      'INSERT OR REPLACE INTO system_record (kind, id, json, updated, expires) VALUES (?, ?, ?, ?, ?)',
    );
    // Adds only when there is no live record: an expired one is replaced.
    this.insertStatement = db.prepare(
      `INSERT INTO system_record (kind, id, json, updated, expires) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (kind, id) DO UPDATE SET json = excluded.json, updated = excluded.updated, expires = excluded.expires
       WHERE system_record.expires IS NOT NULL AND system_record.expires <= excluded.updated`,
    );
    this.deleteStatement = db.prepare('DELETE FROM system_record WHERE kind = ? AND id = ?');
    this.purgeStatement = db.prepare('DELETE FROM system_record WHERE expires IS NOT NULL AND expires <= ?');
  }

  get<T>(kind: string, id: string, now = Date.now()): T | undefined {
    const row = this.getStatement.get(kind, id, now);
    return row ? (JSON.parse(row.json) as T) : undefined;
  }

  list<T>(kind: string, now = Date.now()): RecordEntry<T>[] {
    return this.listStatement.all(kind, now).map((row) => ({
      id: row.id,
      value: JSON.parse(row.json) as T,
      updated: row.updated,
      expiresAt: row.expires ?? undefined,
    }));
  }

  put(kind: string, id: string, value: unknown, expiresAt?: number, now = Date.now()): void {
    this.putStatement.run(kind, id, JSON.stringify(value), now, expiresAt ?? null);
  }

  insertNew(kind: string, id: string, value: unknown, expiresAt?: number, now = Date.now()): boolean {
    return this.insertStatement.run(kind, id, JSON.stringify(value), now, expiresAt ?? null).changes > 0;
  }

  delete(kind: string, id: string): boolean {
    return this.deleteStatement.run(kind, id).changes > 0;
  }

  purgeExpired(now = Date.now()): number {
    return this.purgeStatement.run(now).changes;
  }

  /** For backups: every record of these kinds exactly as stored (expired ones too), by kind then id. */
  rawRecords(kinds: readonly string[]): RawRecord[] {
    return this.rawStatement.all(JSON.stringify(kinds));
  }

  /** For restore: puts a backed-up record back as it was (into a new store: a duplicate is an error). */
  insertRaw(row: RawRecord): void {
    this.insertRawStatement.run(row);
  }
}

/** The asynchronous contract over one table (or two: reads from one connection, writes to another). */
export function securityRecords(
  reads: RecordTable,
  writes: RecordTable,
  exclusive: <T>(work: () => T) => Promise<T>,
): SecurityRecords {
  return {
    get: async (kind, id) => reads.get(kind, id),
    list: async (kind) => reads.list(kind),
    put: (kind, id, value, options) => exclusive(() => writes.put(kind, id, value, options?.expiresAt)),
    insertNew: (kind, id, value, options) =>
      exclusive(() => writes.insertNew(kind, id, value, options?.expiresAt)),
    delete: (kind, id) => exclusive(() => writes.delete(kind, id)),
    purgeExpired: () => exclusive(() => writes.purgeExpired()),
  };
}

/** Inside a transaction: everything on the writer, in the transaction, at once. */
export function transactionRecords(table: RecordTable): SecurityRecords {
  return {
    get: async (kind, id) => table.get(kind, id),
    list: async (kind) => table.list(kind),
    put: async (kind, id, value, options) => table.put(kind, id, value, options?.expiresAt),
    insertNew: async (kind, id, value, options) => table.insertNew(kind, id, value, options?.expiresAt),
    delete: async (kind, id) => table.delete(kind, id),
    purgeExpired: async () => table.purgeExpired(),
  };
}
