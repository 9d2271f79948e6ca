/** The FHIR R4 shapes ChartVault works with. Resources stay plain JSON; only the envelope is typed. */

export interface Meta {
  versionId?: string;
  lastUpdated?: string;
  source?: string;
  profile?: string[];
  security?: Coding[];
  tag?: Coding[];
  [key: string]: unknown;
}

export interface Coding {
  system?: string;
  version?: string;
  code?: string;
  display?: string;
  [key: string]: unknown;
}

export interface Resource {
  resourceType: string;
  id?: string;
  meta?: Meta;
  [key: string]: unknown;
}

export type SearchParamType =
  'string' | 'token' | 'date' | 'reference' | 'number' | 'quantity' | 'uri' | 'composite' | 'special';

/**
 * One value that a search parameter takes for a resource, ready to be written as an index row.
 * Dates are ranges in epoch milliseconds (start and end inclusive), so that a stored `2021-03`
 * covers the whole month and a stored instant covers one millisecond.
 */
export type IndexValue =
  | { kind: 'string'; value: string }
  | { kind: 'token'; system?: string; code?: string; text?: string }
  | { kind: 'date'; start: number; end: number }
  | { kind: 'reference'; reference: string; targetType?: string; targetId?: string }
  /** A number, or with `high` the range [value, high] (a Range; open ends are -Infinity / Infinity). */
  | { kind: 'number'; value: number; high?: number }
  | { kind: 'quantity'; value: number; high?: number; system?: string; code?: string; unit?: string }
  | { kind: 'uri'; value: string }
  /**
   * One element's values for a composite parameter (one Observation.component for
   * `component-code-value-quantity`): for each component, in the definition's order, its values.
   */
  | { kind: 'composite'; components: IndexValue[][] };

/** The values of one search parameter of one resource. */
export interface IndexEntry {
  /** The search parameter's code, e.g. `subject` or `birthdate`. */
  param: string;
  values: IndexValue[];
}
