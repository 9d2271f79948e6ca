/**
 * Turns a parsed search into one SQL statement over the current resources. Every value is bound as a
 * parameter; only table and column names, chosen here from fixed lists, are written into the text.
 * Each criterion is `r.rid IN (rows of an index table)`, which lets SQLite drive the query from the most
 * selective index lookup (a correlated EXISTS would probe the index once per candidate resource).
 */
import type {
  Criterion,
  DateValue,
  NumberValue,
  Prefix,
  SearchRequest,
  SortKey,
} from '../../fhir/searchRequest.ts';
import { normalizeForSearch } from '../normalize.ts';
import type { SearchParamIds } from './searchParamIds.ts';

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

  /** The statement selecting one page of matches: columns `type`, `id`, `body`. */
  page(request: SearchRequest): Sql {
    const where = this.where(request);
    const order = this.orderBy(request.sort, request.types, where.params);
    return {
      text:
        `SELECT r.type, r.id, v.body FROM resource r JOIN resource_version v ON v.vid = r.vid ` +
        `WHERE ${where.text} ORDER BY ${order} LIMIT ? OFFSET ?`,
      params: [...where.params, request.count, request.offset],
    };
  }

  count(request: SearchRequest): Sql {
    const where = this.where(request);
    return { text: `SELECT count(*) AS total FROM resource r WHERE ${where.text}`, params: where.params };
  }

  private where(request: SearchRequest): Sql {
    const params: unknown[] = [...request.types];
    const clauses = [`r.type IN (${request.types.map(() => '?').join(', ')})`, 'r.deleted = 0'];
    for (const criterion of request.criteria) clauses.push(this.criterion(criterion, request.types, params));
    return { text: clauses.join(' AND '), params };
  }

  /** The pids of a parameter code across the searched types, as a bound IN list. */
  private pidList(code: string, types: string[], params: unknown[]): string {
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
        return `${r}.id IN (${c.ids.map(() => '?').join(', ')})`;
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
        return `${r}.rid IN (SELECT x.rid FROM idx_reference x WHERE x.pid IN (${pidList}) AND x.ref IN (${targets}))`;
      }
      case 'has': {
        // Some resource of the source type that meets the inner criterion refers to this one.
        const pidList = this.pidList(c.code, [c.sourceType], params);
        const s = nextAlias(alias);
        params.push(c.sourceType);
        const sources = `SELECT ${s}.rid FROM resource ${s} WHERE ${s}.type = ? AND ${s}.deleted = 0 AND ${this.criterion(c.criterion, [c.sourceType], params, s)}`;
        return `(${r}.type || '/' || ${r}.id) IN (SELECT x.ref FROM idx_reference x WHERE x.pid IN (${pidList}) AND x.rid IN (${sources}))`;
      }
      case 'missing': {
        const having = `${r}.rid IN (SELECT x.rid FROM ${TABLE_OF[c.paramType]} x WHERE x.pid IN (${this.pidList(c.code, types, params)}))`;
        return c.missing ? `NOT ${having}` : having;
      }
      case 'token': {
        const pidList = this.pidList(c.code, types, params);
        const options = c.values.map((v) => {
          if (c.modifier === 'text') {
            params.push(normalizeForSearch(v.code ?? ''));
            return `instr(x.text, ?) > 0`;
          }
          const parts: string[] = [];
          if (v.code !== undefined) {
            parts.push('x.code = ?');
            params.push(v.code);
          }
          if (v.system !== undefined) {
            parts.push('x.system = ?');
            params.push(v.system);
          }
          return parts.length ? parts.join(' AND ') : '1';
        });
        const matching = `${r}.rid IN (SELECT x.rid FROM idx_token x WHERE x.pid IN (${pidList}) AND ${anyOf(options)})`;
        return c.modifier === 'not' ? `NOT ${matching}` : matching;
      }
      default:
        return this.valueCriterion(c, types, params, alias);
    }
  }

  private valueCriterion(
    c: Exclude<Criterion, { kind: 'id' | 'lastUpdated' | 'missing' | 'token' | 'chain' | 'has' }>,
    types: string[],
    params: unknown[],
    alias: string,
  ): string {
    const pidList = this.pidList(c.code, types, params);
    let options: string[];
    switch (c.kind) {
      case 'string':
        options = c.values.map((value) => {
          if (c.modifier === 'exact') {
            params.push(value);
            return 'x.value = ?';
          }
          const norm = normalizeForSearch(value);
          if (c.modifier === 'contains') {
            params.push(norm);
            return 'instr(x.norm, ?) > 0';
          }
          params.push(norm, norm + '\uffff');
          return 'x.norm >= ? AND x.norm < ?';
        });
        break;
      case 'date':
        options = c.values.map((v) => dateMatch('x.start', 'x.end', v, params));
        break;
      case 'reference':
        params.push(...c.values);
        options = [`x.ref IN (${c.values.map(() => '?').join(', ')})`];
        break;
      case 'number':
      case 'quantity':
        options = c.values.map((v) => numberMatch(v, c.kind === 'quantity', params));
        break;
      case 'uri':
        options = c.values.map((value) => {
          if (c.modifier === 'below') {
            params.push(value, value + '\uffff');
            return 'x.value >= ? AND x.value < ?';
          }
          if (c.modifier === 'above') {
            params.push(value);
            return `substr(?, 1, length(x.value)) = x.value`;
          }
          params.push(value);
          return 'x.value = ?';
        });
        break;
    }
    return `${alias}.rid IN (SELECT x.rid FROM ${TABLE_OF[c.kind]} x WHERE x.pid IN (${pidList}) AND ${anyOf(options)})`;
  }

  private orderBy(sort: SortKey[], types: string[], params: unknown[]): string {
    const keys = sort.map((key) => {
      const dir = key.descending ? 'DESC' : 'ASC';
      if (key.code === '_id') return `r.id ${dir}`;
      if (key.code === '_lastUpdated') return `r.last_updated ${dir}`;
      const table = key.paramType ? TABLE_OF[key.paramType] : undefined;
      if (!table) return undefined;
      const column = {
        idx_string: 'norm',
        idx_token: 'code',
        idx_date: 'start',
        idx_reference: 'ref',
        idx_number: 'value',
        idx_quantity: 'value',
        idx_uri: 'value',
      }[table];
      const pick = key.descending ? 'max' : 'min';
      return `(SELECT ${pick}(x.${column}) FROM ${table} x WHERE x.rid = r.rid AND x.pid IN (${this.pidList(key.code, types, params)})) ${dir}`;
    });
    // The row id breaks ties, so that pages never overlap or skip.
    return [...keys.filter(Boolean), 'r.rid ASC'].join(', ');
  }
}

/** Aliases for nested resource rows: r, then r1, r2, ... */
function nextAlias(alias: string): string {
  return `r${Number(alias.slice(1) || 0) + 1}`;
}

function anyOf(options: string[]): string {
  return options.length === 1 ? options[0]! : `(${options.map((o) => `(${o})`).join(' OR ')})`;
}

/** FHIR R4 date prefixes between a stored range [start, end] and a searched range. */
function dateMatch(start: string, end: string, v: DateValue, params: unknown[]): string {
  const bind = (...values: number[]) => params.push(...values);
  switch (v.prefix) {
    case 'eq':
      bind(v.start, v.end);
      return `${start} >= ? AND ${end} <= ?`;
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

function numberMatch(v: NumberValue, isQuantity: boolean, params: unknown[]): string {
  const conditions: string[] = [];
  const compare: Record<Prefix, () => string> = {
    eq: () => (params.push(v.low, v.high), 'x.value >= ? AND x.value < ?'),
    ne: () => (params.push(v.low, v.high), 'NOT (x.value >= ? AND x.value < ?)'),
    gt: () => (params.push(v.value), 'x.value > ?'),
    lt: () => (params.push(v.value), 'x.value < ?'),
    ge: () => (params.push(v.value), 'x.value >= ?'),
    le: () => (params.push(v.value), 'x.value <= ?'),
    sa: () => (params.push(v.value), 'x.value > ?'),
    eb: () => (params.push(v.value), 'x.value < ?'),
    ap: () => {
      const margin = Math.abs(v.value) * 0.1;
      params.push(v.value - margin, v.value + margin);
      return 'x.value >= ? AND x.value <= ?';
    },
  };
  conditions.push(compare[v.prefix]());
  if (isQuantity && v.code !== undefined) {
    params.push(v.code, v.code);
    conditions.push('(x.code = ? OR x.unit = ?)');
  }
  if (isQuantity && v.system !== undefined) {
    params.push(v.system);
    conditions.push('x.system = ?');
  }
  return conditions.join(' AND ');
}
