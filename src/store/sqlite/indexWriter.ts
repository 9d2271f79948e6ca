/** Writes and removes the search-index rows of one resource version. */
import type { IndexEntry } from '../../fhir/types.ts';
import { normalizeForSearch } from '../normalize.ts';
import type { Connection } from './connection.ts';
import { INDEX_TABLES } from './schema.ts';
import type { SearchParamIds } from './searchParamIds.ts';

/** `_id` and `_lastUpdated` live on the resource row itself. */
const COLUMN_PARAMS = new Set(['_id', '_lastUpdated']);

export class IndexWriter {
  private readonly removeRows;
  private readonly insertString;
  private readonly insertToken;
  private readonly insertDate;
  private readonly insertReference;
  private readonly insertNumber;
  private readonly insertQuantity;
  private readonly insertUri;

  constructor(
    db: Connection,
    private readonly pids: SearchParamIds,
  ) {
    this.removeRows = INDEX_TABLES.map((table) => db.prepare(`DELETE FROM ${table} WHERE rid = ?`));
    const insert = (table: string, columns: string[]) =>
      db.prepare(
        `INSERT OR IGNORE INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
      );
    this.insertString = insert('idx_string', ['rid', 'pid', 'value', 'norm']);
    this.insertToken = insert('idx_token', ['rid', 'pid', 'system', 'code', 'text']);
    this.insertDate = insert('idx_date', ['rid', 'pid', 'start', 'end']);
    this.insertReference = insert('idx_reference', ['rid', 'pid', 'ref', 'target_type', 'target_id']);
    this.insertNumber = insert('idx_number', ['rid', 'pid', 'value']);
    this.insertQuantity = insert('idx_quantity', ['rid', 'pid', 'value', 'system', 'code', 'unit']);
    this.insertUri = insert('idx_uri', ['rid', 'pid', 'value']);
  }

  remove(rid: number): void {
    for (const statement of this.removeRows) statement.run(rid);
  }

  write(rid: number, resourceType: string, entries: IndexEntry[]): void {
    for (const entry of entries) {
      if (COLUMN_PARAMS.has(entry.param) || entry.values.length === 0) continue;
      const pid = this.pids.ensure(resourceType, entry.param);
      for (const v of entry.values) {
        switch (v.kind) {
          case 'string':
            this.insertString.run(rid, pid, v.value, normalizeForSearch(v.value));
            break;
          case 'token':
            this.insertToken.run(
              rid,
              pid,
              v.system ?? '',
              v.code ?? '',
              v.text ? normalizeForSearch(v.text) : '',
            );
            break;
          case 'date':
            this.insertDate.run(rid, pid, v.start, v.end);
            break;
          case 'reference':
            this.insertReference.run(rid, pid, referenceKey(v), v.targetType ?? null, v.targetId ?? null);
            break;
          case 'number':
            this.insertNumber.run(rid, pid, v.value);
            break;
          case 'quantity':
            this.insertQuantity.run(rid, pid, v.value, v.system ?? '', v.code ?? '', v.unit ?? '');
            break;
          case 'uri':
            this.insertUri.run(rid, pid, v.value);
            break;
        }
      }
    }
  }
}

/** Local references are keyed `Type/id` whatever their written form; others by their full text. */
export function referenceKey(v: { reference: string; targetType?: string; targetId?: string }): string {
  return v.targetType && v.targetId && !/^[a-z]+:/i.test(v.reference)
    ? `${v.targetType}/${v.targetId}`
    : v.reference;
}
