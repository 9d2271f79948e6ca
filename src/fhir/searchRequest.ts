/**
 * A parsed FHIR search, independent of HTTP and of SQL: the HTTP layer (and the importer, for conditional
 * references) builds one from query parameters; the store turns it into a query.
 */

export type Prefix = 'eq' | 'ne' | 'lt' | 'gt' | 'le' | 'ge' | 'sa' | 'eb' | 'ap';

/** A date searched as a range: `2021-03` covers the whole month (epoch ms, both ends inclusive). */
export interface DateValue {
  prefix: Prefix;
  start: number;
  end: number;
}

/** `system|code`: an undefined system matches any system, an empty one matches codes with no system. */
export interface TokenValue {
  system?: string;
  code?: string;
}

/** A number with the range its written precision implies (`100` is [99.5, 100.5)). */
export interface NumberValue {
  prefix: Prefix;
  value: number;
  low: number;
  high: number;
  system?: string;
  code?: string;
  /** For a UCUM unit this module knows: the same value, low and high in canonical units. */
  canonical?: { unit: string; value: number; low: number; high: number };
}

/** Criteria are ANDed; the values inside one criterion are ORed. */
export type Criterion =
  | { kind: 'id'; ids: string[]; not?: boolean }
  | { kind: 'lastUpdated'; values: DateValue[] }
  | { kind: 'string'; code: string; modifier?: 'exact' | 'contains'; values: string[] }
  /**
   * `:above` / `:below` without a terminology server: the code itself, and codes related by `/`
   * segments (MIME types: `image` is above `image/png`).
   */
  | { kind: 'token'; code: string; modifier?: 'not' | 'text' | 'above' | 'below'; values: TokenValue[] }
  | { kind: 'date'; code: string; values: DateValue[] }
  /** Values are reference keys: `Type/id` for local resources, the full text otherwise. */
  | { kind: 'reference'; code: string; values: string[] }
  | { kind: 'number' | 'quantity'; code: string; values: NumberValue[] }
  | { kind: 'uri'; code: string; modifier?: 'below' | 'above'; values: string[] }
  | { kind: 'missing'; code: string; paramType: IndexedParamType; missing: boolean }
  /** Location `near`: a position within `km` of one of the points. */
  | { kind: 'near'; code: string; values: { latitude: number; longitude: number; km: number }[] }
  /** `_text` (narrative) and `_content` (whole resource): every word of one of `values` occurs. */
  | { kind: 'text'; scope: 'narrative' | 'content'; values: string[] }
  /**
   * A composite parameter (also `identifier:of-type`): some alternative in `values` (OR) has every
   * component criterion (one per component, under `componentCode(code, i)`) met by one element.
   */
  | { kind: 'composite'; code: string; values: ValueCriterion[][] }
  /** `subject:Patient.name=x`: the reference points to a resource of the target types that meets `criterion`. */
  | { kind: 'chain'; code: string; targetTypes: string[]; criterion: Criterion }
  /** `_has:Observation:patient:code=x`: some `sourceType` resource whose `code` points here meets `criterion`. */
  | { kind: 'has'; sourceType: string; code: string; criterion: Criterion };

/** A criterion on one kind of index value (what a composite's components are). */
export type ValueCriterion = Extract<Criterion, { kind: IndexedParamType }>;

/** The pseudo-parameter code under which component `index` of composite `code` is indexed. */
export function componentCode(code: string, index: number): string {
  return `${code}#${index}`;
}

export type IndexedParamType = 'string' | 'token' | 'date' | 'reference' | 'number' | 'quantity' | 'uri';

/** The parameter types that are indexed as plain values (composite and special ones are not). */
export const INDEXED_PARAM_TYPES: ReadonlySet<string> = new Set<IndexedParamType>([
  'string',
  'token',
  'date',
  'reference',
  'number',
  'quantity',
  'uri',
]);

export interface SortKey {
  /** `_id`, `_lastUpdated`, or a search parameter's code. */
  code: string;
  paramType?: IndexedParamType;
  descending: boolean;
}

/** A sort value as SQLite returns it: text, a number (possibly infinite, for open ranges) or null. */
export type SortValue = string | number | null;

/**
 * Where a page starts (keyset paging): after the match with these sort values (one per sort key) and
 * this row id, which breaks ties. Rows never change their id, so a next page neither skips nor
 * repeats a match when others are created or deleted meanwhile, as offsets would.
 */
export interface PageCursor {
  keys: SortValue[];
  rid: number;
  /** Paging back: the page ends right before this match instead of starting after it. */
  before?: boolean;
}

export interface SearchRequest {
  /** One type for a type-level search, several (or all) for `_type` and system-level search. */
  types: string[];
  criteria: Criterion[];
  sort: SortKey[];
  count: number;
  offset: number;
  /** Keyset paging: start after this match (then skip `offset` more, normally 0). */
  after?: PageCursor;
  /**
   * `accurate`: count the matches. `known`: give the total only if it is known for the data as it is
   * now (counted since the last write), without counting. `none`: no total.
   */
  total: 'none' | 'known' | 'accurate';
}

/** `_include=Observation:subject:Patient` (forward) or `_revinclude=Observation:subject` (reverse). */
export interface IncludeSpec {
  /** The type holding the reference (`*` with code `*`: every reference parameter). */
  sourceType: string;
  code: string;
  targetType?: string;
  reverse: boolean;
  /** `:iterate`: apply to included resources too. */
  iterate: boolean;
}
