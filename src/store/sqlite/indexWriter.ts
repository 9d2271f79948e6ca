/**
 * Search-index rows: computed from a resource's index values (in import workers, or by the store), then
 * written and removed per resource version.
 */
import { componentCode } from '../../fhir/searchRequest.ts';
import type { IndexEntry, IndexValue } from '../../fhir/types.ts';
import { canonicalUnit, toCanonical, UCUM_SYSTEM } from '../../fhir/ucum.ts';
import { normalizeForSearch } from '../normalize.ts';
import type { Connection } from './connection.ts';
import { INDEX_TABLES } from './schema.ts';
import type { SearchParamIds } from './searchParamIds.ts';

/**
 * The index rows of one resource, flattened into one array so that it crosses from a worker thread
 * cheaply: for each row, its table (an index into INDEX_TABLES), its search parameter code, then the
 * values of the table's VALUE_COLUMNS (the last being `grp`). `rid` and `pid` are added by the writer.
 */
export type IndexRows = (string | number | null)[];

/** The columns of each index table after `rid` and `pid`, in INDEX_TABLES order. */
const VALUE_COLUMNS: readonly (readonly string[])[] = [
  ['value', 'norm', 'grp'], // idx_string
  ['system', 'code', 'text', 'grp'], // idx_token
  ['start', 'end', 'grp'], // idx_date
  ['ref', 'target_type', 'target_id', 'grp'], // idx_reference
  ['low', 'high', 'grp'], // idx_number
  ['low', 'high', 'system', 'code', 'unit', 'canon_unit', 'canon_low', 'canon_high', 'grp'], // idx_quantity
  ['value', 'grp'], // idx_uri
];
const [STRING, TOKEN, DATE, REFERENCE, NUMBER, QUANTITY, URI] = [0, 1, 2, 3, 4, 5, 6];

/** `_id` and `_lastUpdated` live on the resource row itself. */
const COLUMN_PARAMS = new Set(['_id', '_lastUpdated']);

export function toIndexRows(entries: IndexEntry[]): IndexRows {
  const rows: IndexRows = [];
  for (const { param, values } of entries) {
    if (COLUMN_PARAMS.has(param)) continue;
    let group = 0;
    for (const v of values) {
      if (v.kind !== 'composite') {
        pushRow(rows, param, v, 0);
        continue;
      }
      // Each composite value (one element) is a group: every value of component i becomes a row
      // under `param#i`, all with the same grp.
      group++;
      v.components.forEach((componentValues, i) => {
        for (const value of componentValues) pushRow(rows, componentCode(param, i), value, group);
      });
    }
  }
  return rows;
}

function pushRow(rows: IndexRows, param: string, v: IndexValue, grp: number): void {
  switch (v.kind) {
    case 'string':
      rows.push(STRING, param, v.value, normalizeForSearch(v.value), grp);
      break;
    case 'token':
      rows.push(TOKEN, param, v.system ?? '', v.code ?? '', v.text ? normalizeForSearch(v.text) : '', grp);
      break;
    case 'date':
      rows.push(DATE, param, v.start, v.end, grp);
      break;
    case 'reference':
      rows.push(REFERENCE, param, referenceKey(v), v.targetType ?? null, v.targetId ?? null, grp);
      break;
    case 'number':
      rows.push(NUMBER, param, v.value, v.high ?? v.value, grp);
      break;
    case 'quantity': {
      const high = v.high ?? v.value;
      const canonical = v.system === UCUM_SYSTEM && v.code ? canonicalUnit(v.code) : undefined;
      rows.push(QUANTITY, param, v.value, high, v.system ?? '', v.code ?? '', v.unit ?? '');
      if (canonical) rows.push(canonical.unit, toCanonical(v.value, canonical), toCanonical(high, canonical));
      else rows.push(null, null, null);
      rows.push(grp);
      break;
    }
    case 'uri':
      rows.push(URI, param, v.value, grp);
      break;
    case 'composite':
      break; // composites do not nest
  }
}

export class IndexWriter {
  private readonly removeRows;
  private readonly insertRow;

  constructor(
    db: Connection,
    private readonly pids: SearchParamIds,
  ) {
    this.removeRows = INDEX_TABLES.map((table) => db.prepare(`DELETE FROM ${table} WHERE rid = ?`));
    this.insertRow = INDEX_TABLES.map((table, i) => {
      const columns = ['rid', 'pid', ...VALUE_COLUMNS[i]!];
      return db.prepare(
        `INSERT OR IGNORE INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
      );
    });
  }

  remove(rid: number): void {
    for (const statement of this.removeRows) statement.run(rid);
  }

  write(rid: number, resourceType: string, rows: IndexRows): void {
    forEachIndexRow(rows, (table, param, values) =>
      this.insertRow[table]!.run(rid, this.pids.ensure(resourceType, param), ...values),
    );
  }
}

/** Each row of `rows`: its table (an index into INDEX_TABLES), parameter code and VALUE_COLUMNS values. */
export function forEachIndexRow(
  rows: IndexRows,
  visit: (table: number, param: string, values: IndexRows) => void,
): void {
  for (let i = 0; i < rows.length;) {
    const table = rows[i] as number;
    const end = i + 2 + VALUE_COLUMNS[table]!.length;
    visit(table, rows[i + 1] as string, rows.slice(i + 2, end));
    i = end;
  }
}

/** Local references are keyed `Type/id` whatever their written form; others by their full text. */
export function referenceKey(v: { reference: string; targetType?: string; targetId?: string }): string {
  return v.targetType && v.targetId && !/^[a-z]+:/i.test(v.reference)
    ? `${v.targetType}/${v.targetId}`
    : v.reference;
}
