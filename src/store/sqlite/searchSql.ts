/**
 * Turns a parsed search into one SQL statement over the current resources. Every value is bound as a
 * parameter; only table and column names, chosen here from fixed lists, are written into the text.
 * Each criterion is `r.rid IN (rows of an index table)`, which lets SQLite drive the query from the most
 * selective index lookup (a correlated EXISTS would probe the index once per candidate resource).
 */
import {
  componentCode,
  type Criterion,
  type DateValue,
  type NumberValue,
  type PageCursor,
  type Prefix,
  type SearchRequest,
  type SortKey,
  type TokenValue,
  type ValueCriterion,
} from '../../fhir/searchRequest.ts';
import { normalizeForSearch } from '../normalize.ts';
import type { SearchParamIds } from './searchParamIds.ts';
import { boundingBox, DISTANCE_FUNCTION } from './geoSearch.ts';
import { foldWords, TEXT_MATCH_FUNCTION } from './textSearch.ts';

export interface Sql {
  text: string;
  params: unknown[];
}

const TABLE_OF = {
  string: 'idx_string',
  token: 'idx_token',
  date: 'idx_date',
  reference: 'idx_reference',
  number: 'idx_number',
  quantity: 'idx_quantity',
  uri: 'idx_uri',
} as const;

export class SearchSqlBuilder {
  constructor(private readonly pids: SearchParamIds) {}

  /**
   * The statement selecting one page of matches plus one (which tells whether more follow): columns
   * `type`, `id`, `body`, `rid` and the sort values `k0`, `k1`... that a cursor to the next page holds.
   * Rows are in sort order with the row id breaking ties, so that pages never overlap or skip.
   */
  page(request: SearchRequest): Sql {
    const params: unknown[] = [];
    const keys = this.sortKeys(request.sort, request.types, params);
    const where = this.where(request);
    params.push(...where.params);
    const columns = keys.map((k, i) => `, ${k.expression} AS k${i}`).join('');
    // Paging back scans the reversed order from the cursor; the outer query restores the order.
    const back = request.after?.before === true;
    const scan = back ? keys.map((k) => ({ ...k, descending: !k.descending })) : keys;
    const after = request.after ? `WHERE ${keysetAfter(scan, request.after, back, params)}` : '';
    params.push(request.count + 1, request.offset);
    // The page's rows are chosen first, and only their bodies read: a sort over many matches then
    // never carries their JSON.
    const matches = `SELECT r.rid, r.type, r.id, r.vid${columns} FROM resource r WHERE ${where.text}`;
    const pageRows = `SELECT p.* FROM (${matches}) p ${after} ORDER BY ${orderBy('p', scan, back)} LIMIT ? OFFSET ?`;
    return {
      text: `SELECT q.*, v.body FROM (${pageRows}) q JOIN resource_version v ON v.vid = q.vid ORDER BY ${orderBy('q', keys, false)}`,
      params,
    };
  }

  /**
   * The sort index that can drive a page, when one key over an index ordered by its column sorts a
   * forward page of one type. Then the page walks that index from the cursor and stops when it is
   * full, instead of computing every match's sort value and sorting them all (see `drivenPage`).
   */
  drivingIndex(request: SearchRequest): DrivingIndex | undefined {
    const [key] = request.sort;
    if (
      request.sort.length !== 1 ||
      request.types.length !== 1 ||
      request.after?.before ||
      request.count === 0
    )
      return undefined;
    const index = key!.paramType && DRIVING_INDEXES[key!.paramType as keyof typeof DRIVING_INDEXES];
    const pid = this.pids.find(request.types[0]!, key!.code);
    return index && pid !== undefined ? { ...index, pid, descending: key!.descending } : undefined;
  }

  /**
   * A page of the matches that have a value, in sort order, walking the index: a resource's row that
   * is its first value in that order stands for it (its lowest ascending, its highest descending, as
   * `sortKeys` defines the order); equal values of one resource collapse in the GROUP BY, which
   * follows the index order and so needs no sort. `countOnly`: how many such matches there are.
   */
  drivenPage(request: SearchRequest, d: DrivingIndex, countOnly = false): Sql {
    const params: unknown[] = [d.pid];
    const where = this.where(request);
    params.push(...where.params);
    const [beyond, before, direction] = d.descending ? ['<', '>', 'DESC'] : ['>', '<', 'ASC'];
    let keyset = '';
    const cursorValue = request.after?.keys[0];
    if (request.after && cursorValue !== null && cursorValue !== undefined) {
      keyset = `AND (x.${d.column} ${beyond} ? OR (x.${d.column} = ? AND x.rid ${beyond} ?))`;
      params.push(cursorValue, cursorValue, request.after.rid);
    }
    const walk =
      `SELECT x.rid, x.${d.column} AS k0 FROM ${d.table} x INDEXED BY ${d.index} CROSS JOIN resource r ON r.rid = x.rid ` +
      `WHERE x.pid = ? AND ${where.text} ${keyset} ` +
      `AND NOT EXISTS (SELECT 1 FROM ${d.table} y WHERE y.rid = x.rid AND y.pid = x.pid AND y.${d.column} ${before} x.${d.column}) ` +
      `GROUP BY x.${d.column}, x.rid`;
    if (countOnly) return { text: `SELECT count(*) AS total FROM (${walk})`, params };
    params.push(request.count + 1, request.offset);
    return {
      text:
        `SELECT q.rid, r.type, r.id, r.vid, q.k0, v.body FROM ` +
        `(${walk} ORDER BY x.${d.column} ${direction}, x.rid ${direction} LIMIT ? OFFSET ?) q ` +
        `CROSS JOIN resource r ON r.rid = q.rid JOIN resource_version v ON v.vid = r.vid ` +
        `ORDER BY q.k0 ${direction}, q.rid ${direction}`,
      params,
    };
  }

  /** The matches without a value for the driving key, which come after the others, by row id. */
  drivenMissingPage(request: SearchRequest, d: DrivingIndex, limit: number, offset: number): Sql {
    const where = this.where(request);
    const params = [...where.params, d.pid];
    const direction = d.descending ? 'DESC' : 'ASC';
    let keyset = '';
    if (request.after && (request.after.keys[0] ?? null) === null) {
      keyset = `AND r.rid ${d.descending ? '<' : '>'} ?`;
      params.push(request.after.rid);
    }
    params.push(limit, offset);
    const rows =
      `SELECT r.rid, r.type, r.id, r.vid, NULL AS k0 FROM resource r WHERE ${where.text} ` +
      `AND NOT EXISTS (SELECT 1 FROM ${d.table} y WHERE y.rid = r.rid AND y.pid = ?) ${keyset} ` +
      `ORDER BY r.rid ${direction} LIMIT ? OFFSET ?`;
    return {
      text: `SELECT q.*, v.body FROM (${rows}) q JOIN resource_version v ON v.vid = q.vid ORDER BY q.rid ${direction}`,
      params,
    };
  }

  /** How many index rows the driving parameter has: what a walk over all of them would read. */
  indexRows(d: DrivingIndex): Sql {
    return { text: `SELECT count(*) AS total FROM ${d.table} WHERE pid = ?`, params: [d.pid] };
  }

  count(request: SearchRequest): Sql {
    const where = this.where(request);
    return { text: `SELECT count(*) AS total FROM resource r WHERE ${where.text}`, params: where.params };
  }

  /** The number of matches, counting no further than `limit`: enough to tell a broad search from a narrow one. */
  countUpTo(request: SearchRequest, limit: number): Sql {
    const where = this.where(request);
    return {
      text: `SELECT count(*) AS total FROM (SELECT 1 FROM resource r WHERE ${where.text} LIMIT ?)`,
      params: [...where.params, limit],
    };
  }

  private where(request: SearchRequest): Sql {
    const params: unknown[] = [...request.types];
    const clauses = [`r.type IN (${request.types.map(() => '?').join(', ')})`, 'r.deleted = 0'];
    for (const criterion of request.criteria) clauses.push(this.criterion(criterion, request.types, params));
    return { text: clauses.join(' AND '), params };
  }

  /**
   * The pids of a parameter code across the searched types, as a bound IN list. The code `*` stands
   * for every parameter of those types (each index table holds only its own kind's rows), as
   * `_revinclude=*` needs for references.
   */
  private pidList(code: string, types: string[], params: unknown[]): string {
    if (code === '*') {
      params.push(...types);
      return `SELECT pid FROM search_param WHERE type IN (${types.map(() => '?').join(', ')})`;
    }
    const pids = types.map((t) => this.pids.find(t, code)).filter((p): p is number => p !== undefined);
    if (pids.length === 0) return 'NULL';
    params.push(...pids);
    return pids.map(() => '?').join(', ');
  }

  /**
   * One criterion on the resource rows named `alias` (`r` at the top; chains and `_has` nest their own),
   * whose types are `types`.
   */
  private criterion(c: Criterion, types: string[], params: unknown[], alias = 'r'): string {
    const r = alias;
    switch (c.kind) {
      case 'id':
        params.push(...c.ids);
        return `${r}.id ${c.not ? 'NOT IN' : 'IN'} (${c.ids.map(() => '?').join(', ')})`;
      case 'lastUpdated':
        return anyOf(c.values.map((v) => dateMatch(`${r}.last_updated`, `${r}.last_updated`, v, params)));
      case 'chain': {
        // The reference's key (`Type/id`) is one of the target resources that meet the inner criterion.
        const pidList = this.pidList(c.code, types, params);
        const t = nextAlias(alias);
        params.push(...c.targetTypes);
        const targets =
          `SELECT ${t}.type || '/' || ${t}.id FROM resource ${t} WHERE ${t}.type IN (${c.targetTypes.map(() => '?').join(', ')}) ` +
          `AND ${t}.deleted = 0 AND ${this.criterion(c.criterion, c.targetTypes, params, t)}`;
        // Types with a canonical url (Questionnaire, ValueSet...) are also referred to by it, with or
        // without `|version`.
        const canonicalTypes = c.targetTypes.filter((type) => this.pids.find(type, 'url') !== undefined);
        if (canonicalTypes.length === 0)
          return `${r}.rid IN (SELECT x.rid FROM idx_reference x WHERE x.pid IN (${pidList}) AND x.ref IN (${targets}))`;
        const urlPids = this.pidList('url', canonicalTypes, params);
        params.push(...canonicalTypes);
        const urls =
          `SELECT u.value FROM idx_uri u WHERE u.pid IN (${urlPids}) AND u.rid IN (SELECT ${t}.rid FROM resource ${t} ` +
          `WHERE ${t}.type IN (${canonicalTypes.map(() => '?').join(', ')}) AND ${t}.deleted = 0 ` +
          `AND ${this.criterion(c.criterion, canonicalTypes, params, t)})`;
        const unversioned = `CASE WHEN instr(x.ref, '|') > 0 THEN substr(x.ref, 1, instr(x.ref, '|') - 1) ELSE x.ref END`;
        return (
          `${r}.rid IN (SELECT x.rid FROM idx_reference x WHERE x.pid IN (${pidList}) ` +
          `AND (x.ref IN (${targets}) OR ${unversioned} IN (${urls})))`
        );
      }
      case 'has': {
        // Some resource of the source type that meets the inner criterion refers to this one.
        const pidList = this.pidList(c.code, [c.sourceType], params);
        const s = nextAlias(alias);
        params.push(c.sourceType);
        const sources = `SELECT ${s}.rid FROM resource ${s} WHERE ${s}.type = ? AND ${s}.deleted = 0 AND ${this.criterion(c.criterion, [c.sourceType], params, s)}`;
        // The referenced rows are found by their (type, id) key, so this resource is matched by row id
        // instead of building `type/id` for every candidate. Only local references (`Type/id`) count.
        const t = `${s}h`;
        return (
          `${r}.rid IN (SELECT ${t}.rid FROM idx_reference x CROSS JOIN resource ${t} ` +
          `ON ${t}.type = x.target_type AND ${t}.id = x.target_id ` +
          `WHERE x.pid IN (${pidList}) AND x.rid IN (${sources}) AND x.ref = x.target_type || '/' || x.target_id)`
        );
      }
      case 'text':
        // Matched on the stored JSON (see textSearch.ts): the words are bound as one JSON value.
        params.push(c.scope, JSON.stringify(foldWords(c.values)));
        return `${TEXT_MATCH_FUNCTION}((SELECT tv.body FROM resource_version tv WHERE tv.vid = ${r}.vid), ?, ?) = 1`;
      case 'missing': {
        // A reference given only by its identifier is a value too (indexed as a token, for :identifier).
        const tables = c.paramType === 'reference' ? ['idx_reference', 'idx_token'] : [TABLE_OF[c.paramType]];
        const having = tables
          .map(
            (table) =>
              `${r}.rid IN (SELECT x.rid FROM ${table} x WHERE x.pid IN (${this.pidList(c.code, types, params)}))`,
          )
          .join(' OR ');
        return c.missing ? `NOT (${having})` : `(${having})`;
      }
      case 'token': {
        const matching = this.valueCriterion(c, types, params, alias);
        return c.modifier === 'not' ? `NOT ${matching}` : matching;
      }
      case 'composite':
        return this.compositeCriterion(c, types, params, alias);
      case 'near': {
        // Latitude and longitude rows of one position (one group), inside the box, then within the distance.
        const [lat, lon] = [0, 1].map((i) => this.pidList(componentCode(c.code, i), types, params));
        const options = c.values.map((v) => {
          const box = boundingBox(v.latitude, v.longitude, v.km);
          params.push(box.minLat, box.maxLat, box.minLon, box.maxLon, v.latitude, v.longitude, v.km);
          return `x0.low BETWEEN ? AND ? AND x1.low BETWEEN ? AND ? AND ${DISTANCE_FUNCTION}(x0.low, x1.low, ?, ?) <= ?`;
        });
        return (
          `${r}.rid IN (SELECT x0.rid FROM idx_number x0 JOIN idx_number x1 ON x1.rid = x0.rid AND x1.grp = x0.grp ` +
          `WHERE x0.pid IN (${lat}) AND x1.pid IN (${lon}) AND ${anyOf(options)})`
        );
      }
      default:
        return this.valueCriterion(c, types, params, alias);
    }
  }

  /** `alias` has an index row of the criterion's parameter that matches one of its values. */
  private valueCriterion(c: ValueCriterion, types: string[], params: unknown[], alias: string): string {
    const pidList = this.pidList(c.code, types, params);
    return `${alias}.rid IN (SELECT x.rid FROM ${TABLE_OF[c.kind]} x WHERE x.pid IN (${pidList}) AND ${valueMatch(c, 'x', params)})`;
  }

  /**
   * One element matches every component: the components' rows (each kind in its own table, under its
   * own pid) are joined on the resource and the element's group.
   */
  private compositeCriterion(
    c: Extract<Criterion, { kind: 'composite' }>,
    types: string[],
    params: unknown[],
    alias: string,
  ): string {
    const components = c.values[0]!;
    const from = components
      .map((component, i) => {
        const table = TABLE_OF[component.kind];
        return i === 0 ? `${table} x0` : `JOIN ${table} x${i} ON x${i}.rid = x0.rid AND x${i}.grp = x0.grp`;
      })
      .join(' ');
    const pids = components.map(
      (component, i) => `x${i}.pid IN (${this.pidList(component.code, types, params)})`,
    );
    const alternatives = c.values.map((alternative) =>
      alternative.map((component, i) => `(${valueMatch(component, `x${i}`, params)})`).join(' AND '),
    );
    return `${alias}.rid IN (SELECT x0.rid FROM ${from} WHERE ${pids.join(' AND ')} AND ${anyOf(alternatives)})`;
  }

  /** Each sort key as an expression on the resource row `r`. */
  private sortKeys(sort: SortKey[], types: string[], params: unknown[]): SortExpression[] {
    return sort.map((key) => {
      const { descending } = key;
      if (key.code === '_id') return { expression: 'r.id', descending, nullable: false };
      if (key.code === '_lastUpdated') return { expression: 'r.last_updated', descending, nullable: false };
      const table = TABLE_OF[key.paramType!];
      // UCUM quantities sort by their canonical value, so that 900 mg comes before 1 g.
      const column = {
        idx_string: 'x.norm',
        idx_token: 'x.code',
        idx_date: 'x.start',
        idx_reference: 'x.ref',
        idx_number: 'x.low',
        idx_quantity: 'coalesce(x.canon_low, x.low)',
        idx_uri: 'x.value',
      }[table];
      // A resource with several values sorts by its first in the order asked for.
      const pick = descending ? 'max' : 'min';
      const pids = this.pidList(key.code, types, params);
      return {
        expression: `(SELECT ${pick}(${column}) FROM ${table} x WHERE x.rid = r.rid AND x.pid IN (${pids}))`,
        descending,
        nullable: true,
      };
    });
  }
}

interface SortExpression {
  expression: string;
  descending: boolean;
  /** False for columns that always hold a value (no NULLS LAST, which could keep an index from ordering). */
  nullable: boolean;
}

/** Index tables whose lookup index orders a parameter's values by the column that sorts them. */
const DRIVING_INDEXES = {
  date: { table: 'idx_date', index: 'idx_date_lookup', column: 'start' },
  string: { table: 'idx_string', index: 'idx_string_lookup', column: 'norm' },
  number: { table: 'idx_number', index: 'idx_number_lookup', column: 'low' },
  reference: { table: 'idx_reference', index: 'idx_reference_lookup', column: 'ref' },
  uri: { table: 'idx_uri', index: 'idx_uri_lookup', column: 'value' },
} as const;

export interface DrivingIndex {
  table: string;
  index: string;
  column: string;
  pid: number;
  descending: boolean;
}

/**
 * The ORDER BY of a page. Resources without a value for a key come after those with one, in either
 * direction (as a reader expects); the reversed scan of paging back puts them first, which reverses
 * exactly. Ties are broken by row id in the first key's direction, the order in which a sort index
 * lists them (see `drivenPage`).
 */
function orderBy(alias: string, keys: SortExpression[], reversed: boolean): string {
  const direction = (descending: boolean) => (descending ? 'DESC' : 'ASC');
  return [
    ...keys.map(
      (k, i) =>
        `${alias}.k${i} ${direction(k.descending)}${k.nullable ? ` NULLS ${reversed ? 'FIRST' : 'LAST'}` : ''}`,
    ),
    `${alias}.rid ${direction(keys[0]?.descending ?? reversed)}`,
  ].join(', ');
}

/**
 * Rows after the cursor in the scan order (keys, then row id as `orderBy` has it): equal on the keys
 * before one, and after it on that one. NULLs (no value) come last in the forward order and first in
 * the reversed one.
 */
function keysetAfter(keys: SortExpression[], cursor: PageCursor, back: boolean, params: unknown[]): string {
  const values = keys.map((_key, i) => cursor.keys[i] ?? null);
  /** Equal on keys 0..i-1 (`IS` also equates NULLs). */
  const equalBefore = (i: number) =>
    values.slice(0, i).map((value, j) => {
      params.push(value);
      return `p.k${j} IS ?`;
    });
  const alternatives = keys.map((key, i) => {
    const column = `p.k${i}`;
    const equal = equalBefore(i);
    const value = values[i];
    const nullsLast = !back;
    if (value === null) return [...equal, nullsLast ? '0' : `${column} IS NOT NULL`].join(' AND ');
    params.push(value);
    const beyond = key.descending ? `${column} < ?` : `${column} > ?`;
    return [...equal, nullsLast ? `(${beyond} OR ${column} IS NULL)` : beyond].join(' AND ');
  });
  const equal = equalBefore(keys.length);
  params.push(cursor.rid);
  const ridDescending = keys[0]?.descending ?? back;
  alternatives.push([...equal, ridDescending ? 'p.rid < ?' : 'p.rid > ?'].join(' AND '));
  return anyOf(alternatives);
}

/** Aliases for nested resource rows: r, then r1, r2, ... */
function nextAlias(alias: string): string {
  return `r${Number(alias.slice(1) || 0) + 1}`;
}

function anyOf(options: string[]): string {
  return options.length === 1 ? options[0]! : `(${options.map((o) => `(${o})`).join(' OR ')})`;
}

/** The row `x` of the criterion's kind holds one of its values (ORed); modifiers other than :not apply here. */
function valueMatch(c: ValueCriterion, x: string, params: unknown[]): string {
  switch (c.kind) {
    case 'token':
      return anyOf(c.values.map((v) => tokenMatch(v, c.modifier, x, params)));
    case 'string':
      return anyOf(
        c.values.map((value) => {
          if (c.modifier === 'exact') {
            params.push(value);
            return `${x}.value = ?`;
          }
          const norm = normalizeForSearch(value);
          if (c.modifier === 'contains') {
            params.push(norm);
            return `instr(${x}.norm, ?) > 0`;
          }
          params.push(norm, norm + '\uffff');
          return `${x}.norm >= ? AND ${x}.norm < ?`;
        }),
      );
    case 'date':
      return anyOf(c.values.map((v) => dateMatch(`${x}.start`, `${x}.end`, v, params)));
    case 'reference': {
      params.push(...c.values);
      const exact = `${x}.ref IN (${c.values.map(() => '?').join(', ')})`;
      // A canonical URL without a version also finds the references to any version of it
      // (`url|1.0`); literal references never hold a `|`.
      const unversioned = c.values.filter((v) => /^[a-z][a-z0-9+.-]*:/i.test(v) && !v.includes('|'));
      if (unversioned.length === 0) return exact;
      return anyOf([
        exact,
        ...unversioned.map((v) => (params.push(`${v}|`, `${v}|\uffff`), `${x}.ref >= ? AND ${x}.ref < ?`)),
      ]);
    }
    case 'number':
    case 'quantity':
      return anyOf(c.values.map((v) => numberMatch(v, c.kind === 'quantity', x, params)));
    case 'uri':
      return anyOf(
        c.values.map((value) => {
          if (c.modifier === 'below') {
            params.push(value, value + '\uffff');
            return `${x}.value >= ? AND ${x}.value < ?`;
          }
          if (c.modifier === 'above') {
            params.push(value);
            return `substr(?, 1, length(${x}.value)) = ${x}.value`;
          }
          params.push(value);
          return `${x}.value = ?`;
        }),
      );
  }
}

function tokenMatch(
  v: TokenValue,
  modifier: Extract<Criterion, { kind: 'token' }>['modifier'],
  x: string,
  params: unknown[],
): string {
  if (modifier === 'text') {
    params.push(normalizeForSearch(v.code ?? ''));
    return `instr(${x}.text, ?) > 0`;
  }
  const parts: string[] = [];
  if (v.code !== undefined) {
    if (modifier === 'below') {
      // The code, or one under it by `/` segments: `image` is above `image/png`.
      params.push(v.code, `${v.code}/`, `${v.code}/\uffff`);
      parts.push(`(${x}.code = ? OR (${x}.code >= ? AND ${x}.code < ?))`);
    } else if (modifier === 'above') {
      params.push(v.code, v.code);
      parts.push(
        `(${x}.code = ? OR (${x}.code <> '' AND substr(?, 1, length(${x}.code) + 1) = ${x}.code || '/'))`,
      );
    } else {
      params.push(v.code);
      parts.push(`${x}.code = ?`);
    }
  }
  if (v.system !== undefined) {
    parts.push(`${x}.system = ?`);
    params.push(v.system);
  }
  return parts.length ? parts.join(' AND ') : '1';
}

/** FHIR R4 date prefixes between a stored range [start, end] and a searched range. */
function dateMatch(start: string, end: string, v: DateValue, params: unknown[]): string {
  const bind = (...values: number[]) => params.push(...values);
  switch (v.prefix) {
    case 'eq':
      // `start <= searched end` follows from the rest; stated, it bounds the index range on both sides.
      bind(v.start, v.end, v.end);
      return `${start} >= ? AND ${start} <= ? AND ${end} <= ?`;
    case 'ne':
      bind(v.start, v.end);
      return `NOT (${start} >= ? AND ${end} <= ?)`;
    case 'gt':
      bind(v.end);
      return `${end} > ?`;
    case 'lt':
      bind(v.start);
      return `${start} < ?`;
    case 'ge':
      bind(v.start);
      return `${end} >= ?`;
    case 'le':
      bind(v.end);
      return `${start} <= ?`;
    case 'sa':
      bind(v.end);
      return `${start} > ?`;
    case 'eb':
      bind(v.start);
      return `${end} < ?`;
    case 'ap': {
      // Approximately: the ranges overlap once the searched one is widened by 10% of its distance from now.
      const margin = Math.abs(Date.now() - v.start) * 0.1;
      bind(v.end + margin, v.start - margin);
      return `${start} <= ? AND ${end} >= ?`;
    }
  }
}

/**
 * FHIR R4 prefixes between a stored range [low, high] (a plain number has low = high) and a searched
 * number, whose `eq` covers the range its precision implies.
 */
function numberMatch(v: NumberValue, isQuantity: boolean, x: string, params: unknown[]): string {
  // A UCUM quantity with a known unit compares canonical values of the same dimension; any other
  // compares values as written, with the unit (if given) matching code or unit text.
  const canonical = isQuantity ? v.canonical : undefined;
  const [low, high] = canonical ? [`${x}.canon_low`, `${x}.canon_high`] : [`${x}.low`, `${x}.high`];
  const { value, low: searchLow, high: searchHigh } = canonical ?? v;
  const compare: Record<Prefix, () => string> = {
    eq: () => (params.push(searchLow, searchHigh), `${low} >= ? AND ${high} < ?`),
    ne: () => (params.push(searchLow, searchHigh), `NOT (${low} >= ? AND ${high} < ?)`),
    gt: () => (params.push(value), `${high} > ?`),
    lt: () => (params.push(value), `${low} < ?`),
    ge: () => (params.push(value), `${high} >= ?`),
    le: () => (params.push(value), `${low} <= ?`),
    sa: () => (params.push(value), `${low} > ?`),
    eb: () => (params.push(value), `${high} < ?`),
    ap: () => {
      const margin = Math.abs(value) * 0.1;
      params.push(value + margin, value - margin);
      return `${low} <= ? AND ${high} >= ?`;
    },
  };
  const conditions = [compare[v.prefix]()];
  if (canonical) {
    params.push(canonical.unit);
    conditions.push(`${x}.canon_unit = ?`);
    return conditions.join(' AND ');
  }
  if (isQuantity && v.code !== undefined) {
    params.push(v.code, v.code);
    conditions.push(`(${x}.code = ? OR ${x}.unit = ?)`);
  }
  if (isQuantity && v.system !== undefined) {
    params.push(v.system);
    conditions.push(`${x}.system = ?`);
  }
  return conditions.join(' AND ');
}
