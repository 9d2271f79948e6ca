/**
 * The records object (docs/backup-format.md, section 6.3): the store's durable security records
 * (accounts with their roles and password and MFA hashes, registered clients with their hashed
 * secrets) as a full copy, written whenever it differs from the parent snapshot's. Ephemeral records
 * (sign-in throttling counters, used assertion ids, revoked tokens, sessions) are never backed up: a
 * restored server starts with none of them.
 */
import type { RawRecord } from '../store/index.ts';
import { sha256 } from './packWriter.ts';
import { CorruptObject } from './repositoryFormat.ts';

/**
 * The kinds a restore must give back, as the access layer names them (src/access/accounts.ts
 * ACCOUNT_KIND, src/access/clients.ts CLIENT_KIND). Every other kind there is ephemeral and carries an
 * expiry (login-throttle, assertion-jti, revoked-token). A new durable kind must be added here.
 */
export const DURABLE_RECORD_KINDS = ['account', 'client'] as const;

export interface RecordsHeader {
  format: 'chartvault-records';
  version: 1;
  count: number;
}

export interface RecordsSummary {
  /** SHA-256 (hex) of the records object's payload. */
  sha256: string;
  count: number;
  byKind: Record<string, number>;
}

/** The payload: a header line, then one JSON line per record, ordered by kind then id. */
export function recordsPayload(records: RawRecord[]): { payload: Buffer; summary: RecordsSummary } {
  const header: RecordsHeader = { format: 'chartvault-records', version: 1, count: records.length };
  const lines = records.map((r) =>
    JSON.stringify({ kind: r.kind, id: r.id, json: r.json, updated: r.updated, expires: r.expires }),
  );
  const payload = Buffer.from([JSON.stringify(header), ...lines].join('\n') + '\n');
  const byKind: Record<string, number> = {};
  for (const r of records) byKind[r.kind] = (byKind[r.kind] ?? 0) + 1;
  return { payload, summary: { sha256: sha256(payload), count: records.length, byKind } };
}

export function parseRecords(payload: Buffer, path: string): RawRecord[] {
  const lines = payload.toString('utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  let header: RecordsHeader;
  let records: RawRecord[];
  try {
    header = JSON.parse(lines[0] ?? '') as RecordsHeader;
    records = lines.slice(1).map((line) => JSON.parse(line) as RawRecord);
  } catch {
    throw new CorruptObject(path, 'records content is not valid');
  }
  if (header.format !== 'chartvault-records' || header.version !== 1)
    throw new CorruptObject(path, 'not a version-1 records object');
  if (records.length !== header.count)
    throw new CorruptObject(path, 'holds other records than its header says');
  for (const r of records)
    if (
      typeof r.kind !== 'string' ||
      typeof r.id !== 'string' ||
      typeof r.json !== 'string' ||
      !Number.isSafeInteger(r.updated) ||
      !(r.expires === null || Number.isSafeInteger(r.expires))
    )
      throw new CorruptObject(path, 'holds a record that is not valid');
  return records;
}
