/**
 * Parses FHIR search parameters (from a URL query, a POST `_search` form, or a conditional reference
 * like `Practitioner?identifier=...`) into a SearchRequest, with clear errors for malformed values.
 */
import { badRequest } from './outcome.ts';
import type {
  Criterion,
  DateValue,
  IndexedParamType,
  NumberValue,
  Prefix,
  SearchRequest,
  SortKey,
  TokenValue,
} from './searchRequest.ts';
import { impliedSystemCodes } from './impliedCodeSystems.ts';
import { getSearchParameter, type SearchParamDef } from './searchParameters.ts';
import { dateRange } from './dateRange.ts';
import { decodeCursor } from './searchCursor.ts';
import { canonicalUnit, toCanonical, UCUM_SYSTEM } from './ucum.ts';
import {
  componentCode,
  INDEXED_PARAM_TYPES,
  type IncludeSpec,
  type ValueCriterion,
} from './searchRequest.ts';
import { parseElements, parseSummary, type Subsetting } from './subsetting.ts';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

const PREFIXES = new Set<Prefix>(['eq', 'ne', 'lt', 'gt', 'le', 'ge', 'sa', 'eb', 'ap']);
/** Result parameters that shape the response rather than select resources. */
const RESULT_PARAMS = new Set([
  '_count',
  '_offset',
  '_cursor',
  '_sort',
  '_total',
  '_format',
  '_pretty',
  '_type',
]);
/** Parameters accepted and deliberately ignored until the search-engine issue implements them. */
const NOT_YET_SUPPORTED = new Set(['_contained', '_containedType']);
const INDEXED = INDEXED_PARAM_TYPES;

export interface ParsedSearch {
  request: SearchRequest;
  /** Parameters that were not used (lenient handling); strict handling throws instead. */
  ignored: string[];
  /** `_include` and `_revinclude`, in the order given. */
  includes: IncludeSpec[];
  /** `_summary` and `_elements`. */
  subsetting: Subsetting;
}

export interface ParseOptions {
  strict?: boolean;
}

export function parseSearch(
  types: string[],
  query: Iterable<[string, string]>,
  options: ParseOptions = {},
): ParsedSearch {
  const request: SearchRequest = {
    types,
    criteria: [],
    sort: [],
    count: DEFAULT_PAGE_SIZE,
    offset: 0,
    total: 'accurate',
  };
  const ignored: string[] = [];
  const includes: IncludeSpec[] = [];
  const subsetting: Subsetting = {};
  let cursor: string | undefined;
  let totalAsked = false;
  const ignore = (name: string, why: string) => {
    if (options.strict) throw badRequest(`Search parameter ${name} ${why}.`, 'not-supported');
    ignored.push(name);
  };
  for (const [rawName, rawValue] of query) {
    const [code, modifier] = splitOnce(rawName, ':');
    if (code === '_cursor') {
      cursor = rawValue;
      continue;
    }
    if (RESULT_PARAMS.has(code)) {
      if (code === '_total') totalAsked = true;
      applyResultParam(request, code, rawValue, types);
      continue;
    }
    if (code === '_include' || code === '_revinclude') {
      if (modifier !== undefined && modifier !== 'iterate' && modifier !== 'recurse')
        throw badRequest(`${rawName}: ${code} takes only the :iterate modifier.`);
      else includes.push(parseInclude(rawName, rawValue, code === '_revinclude', modifier !== undefined));
      continue;
    }
    if (code === '_summary') {
      subsetting.summary = parseSummary(rawValue);
      if (subsetting.summary === 'count') {
        request.total = 'accurate';
        totalAsked = true;
      }
      continue;
    }
    if (code === '_elements') {
      subsetting.elements = parseElements(rawValue);
      continue;
    }
    if (NOT_YET_SUPPORTED.has(code)) {
      ignore(rawName, 'is not supported yet');
      continue;
    }
    // `name=` with nothing: no criterion, as other servers read it (refused under strict handling).
    if (rawValue === '' && modifier !== 'missing') {
      ignore(rawName, 'has an empty value');
      continue;
    }
    const criterion = parseFilter(types, rawName, rawValue);
    if (typeof criterion === 'string') ignore(rawName, criterion);
    else request.criteria.push(criterion);
  }
  if (subsetting.summary === 'count') request.count = 0;
  // Read last: its shape depends on `_sort`, wherever that stands in the query.
  if (cursor !== undefined) request.after = decodeCursor(cursor, request.sort.length);
  // Counting every match can cost more than the page itself (all Observations of a million
  // resources: about a second). Unless `_total` asks, the first page counts them, and later pages
  // (reached by a link or `_offset`) give the total only while it is known for the current data.
  if (!totalAsked && (request.after !== undefined || request.offset > 0)) request.total = 'known';
  return { request, ignored, includes, subsetting };
}

/**
 * One filter on the given types: a plain parameter, a chain (`subject:Patient.name=x`, several levels
 * deep) or a reverse chain (`_has:Observation:patient:code=x`, nestable). A string says why the
 * parameter was not understood.
 */
function parseFilter(types: string[], name: string, value: string): Criterion | string {
  if (name.startsWith('_has:')) {
    const [, sourceType, code, ...rest] = name.split(':');
    const definition = sourceType && code ? getSearchParameter(sourceType, code) : undefined;
    if (!definition || definition.type !== 'reference' || rest.length === 0) {
      throw badRequest(
        `Search parameter ${name} must read _has:Type:reference-parameter:parameter, with a reference parameter of that type.`,
      );
    }
    if (!types.some((t) => definition.targets.includes(t)))
      throw badRequest(
        `Search parameter ${name} cannot apply: ${sourceType}.${code} never points to ${types.join(', ')}.`,
      );
    return {
      kind: 'has',
      sourceType,
      code,
      criterion: nestedFilter([sourceType], rest.join(':'), value, name),
    };
  }
  const dot = name.indexOf('.');
  if (dot > 0) {
    const [code, modifier] = splitOnce(name.slice(0, dot), ':');
    const definitions = types.map((t) => getSearchParameter(t, code)).filter((d) => d !== undefined);
    if (definitions.length === 0 || definitions.some((d) => d.type !== 'reference'))
      throw badRequest(`Search parameter ${name} cannot be chained: ${code} is not a reference parameter.`);
    const rest = name.slice(dot + 1);
    const innerCode = splitOnce(rest.split('.')[0]!, ':')[0];
    const candidates = modifier ? [modifier] : [...new Set(definitions.flatMap((d) => d.targets))];
    // `_has` inside a chain (`subject:Patient._has:Condition:subject:code=x`) checks its own types.
    const targetTypes = candidates.filter(
      (t) =>
        innerCode === '_id' ||
        innerCode === '_lastUpdated' ||
        getSearchParameter(t, innerCode) ||
        (innerCode === '_has' && hasTargets(rest, t)),
    );
    if (targetTypes.length === 0)
      throw badRequest(
        `Search parameter ${name} cannot be chained: no type that ${code} points to has the parameter ${innerCode}.`,
      );
    return { kind: 'chain', code, targetTypes, criterion: nestedFilter(targetTypes, rest, value, name) };
  }
  const [code, modifier] = splitOnce(name, ':');
  if (code === '_id') {
    if (modifier !== undefined && modifier !== 'not')
      throw badRequest(`Search parameter ${name}: _id takes only the :not modifier.`);
    return { kind: 'id', ids: splitValues(value).map(unescape), not: modifier === 'not' };
  }
  if (code === '_list') {
    // `_list=42`: the resources List/42 holds, i.e. those that List/42's `item` refers to. Functional
    // lists (`$current-problems`) are not supported.
    if (modifier !== undefined) return `does not support the modifier :${modifier}`;
    const ids = splitValues(value).map(unescape);
    if (ids.some((id) => !/^[A-Za-z0-9\-.]{1,64}$/.test(id)))
      return 'takes List ids (functional lists such as $current-problems are not supported)';
    return { kind: 'has', sourceType: 'List', code: 'item', criterion: { kind: 'id', ids } };
  }
  if (code === '_text' || code === '_content') {
    if (modifier !== undefined) throw badRequest(`Search parameter ${name}: ${code} takes no modifier.`);
    const values = splitValues(value).map(unescape);
    if (values.some((v) => v.trim() === '')) throw badRequest(`Search parameter ${name} has an empty value.`);
    return { kind: 'text', scope: code === '_text' ? 'narrative' : 'content', values };
  }
  if (code === '_lastUpdated') {
    // Every resource has a last-updated time: `:missing=false` is all of them, `:missing=true` none.
    if (modifier === 'missing') {
      if (value !== 'true' && value !== 'false')
        throw badRequest(`${name} takes true or false, not "${value}".`);
      return { kind: 'id', ids: [], not: value === 'false' };
    }
    if (modifier !== undefined)
      throw badRequest(`Search parameter ${name}: _lastUpdated takes only the :missing modifier.`);
    return { kind: 'lastUpdated', values: splitValues(value).map((v) => parseDate(name, v)) };
  }
  const definitions = types.map((t) => getSearchParameter(t, code)).filter((d) => d !== undefined);
  const paramType = definitions[0]?.type;
  if (paramType === 'special' && code === 'near' && definitions.length === types.length) {
    if (modifier !== undefined) throw badRequest(`Search parameter ${name}: near takes no modifier.`);
    return { kind: 'near', code, values: splitValues(value).map((v) => parseNear(name, v)) };
  }
  if (paramType === 'composite' && definitions.every((d) => d.type === 'composite')) {
    return parseComposite(name, code, modifier, definitions[0]!, types, value);
  }
  if (!paramType || !INDEXED.has(paramType) || definitions.some((d) => d.type !== paramType)) {
    return `is not known for ${types.length === 1 ? types[0] : 'these types'}`;
  }
  const targets = [...new Set(definitions.flatMap((d) => d.targets))];
  const criterion = parseCriterion(name, code, modifier, paramType as IndexedParamType, value, targets);
  if (criterion?.kind === 'token' && (modifier === undefined || modifier === 'not'))
    criterion.values = withImpliedSystems(types, code, criterion.values);
  if (!criterion)
    throw badRequest(
      `Search parameter ${name}: ${code} (a ${paramType} parameter) does not support the modifier :${modifier}.`,
    );
  return criterion;
}

/** Whether `_has:Source:param:...` can point at `type`. */
function hasTargets(name: string, type: string): boolean {
  const [, sourceType, code] = name.split(':');
  return (sourceType && code && getSearchParameter(sourceType, code)?.targets.includes(type)) === true;
}

/**
 * `system|code` also finds elements of type `code` whose binding implies that system: they are
 * indexed without one (see impliedCodeSystems.ts).
 */
function withImpliedSystems(types: string[], code: string, values: TokenValue[]): TokenValue[] {
  const implied = types.map((t) => impliedSystemCodes(t, code));
  const extra = values.filter(
    (v) =>
      v.system !== undefined &&
      v.system !== '' &&
      v.code !== undefined &&
      implied.some((pairs) => pairs?.has(`${v.system}|${v.code}`)),
  );
  return extra.length === 0 ? values : [...values, ...extra.map((v) => ({ system: '', code: v.code }))];
}

/** A filter inside a chain or `_has`: there an unknown parameter is a malformed request, never ignored. */
function nestedFilter(types: string[], name: string, value: string, whole: string): Criterion {
  const inner = parseFilter(types, name, value);
  if (typeof inner === 'string')
    throw badRequest(`Search parameter ${whole}: ${name.split(/[.:]/)[0]} ${inner}.`);
  return inner;
}

/** `Type:param[:TargetType]`, or `*` for every reference parameter. */
function parseInclude(name: string, value: string, reverse: boolean, iterate: boolean): IncludeSpec {
  if (value === '*') return { sourceType: '*', code: '*', reverse, iterate };
  const [sourceType, code, targetType] = value.split(':');
  const definition = sourceType && code ? getSearchParameter(sourceType, code) : undefined;
  if (!definition || definition.type !== 'reference') {
    throw badRequest(
      `${name}=${value.slice(0, 100)}: expected Type:parameter with a reference parameter of that type, e.g. Observation:subject.`,
    );
  }
  if (targetType !== undefined && !definition.targets.includes(targetType)) {
    throw badRequest(`${name}=${value.slice(0, 100)}: ${sourceType}.${code} cannot point to ${targetType}.`);
  }
  return { sourceType: sourceType!, code: code!, targetType, reverse, iterate };
}

function applyResultParam(request: SearchRequest, code: string, value: string, types: string[]): void {
  switch (code) {
    case '_count': {
      const n = Number(value);
      if (!/^\d+$/.test(value)) throw badRequest(`_count must be a whole number, not "${value}".`);
      request.count = Math.min(n, MAX_PAGE_SIZE);
      break;
    }
    case '_offset':
      if (!/^\d+$/.test(value)) throw badRequest(`_offset must be a whole number, not "${value}".`);
      request.offset = Number(value);
      break;
    case '_total':
      if (!['none', 'estimate', 'accurate'].includes(value))
        throw badRequest(`_total must be none, estimate or accurate, not "${value}".`);
      request.total = value === 'none' ? 'none' : 'accurate';
      break;
    case '_sort':
      request.sort = splitValues(value).map((key) => parseSortKey(key, types));
      break;
    default:
      // _format, _pretty and _type are read by the HTTP layer.
      break;
  }
}

function parseSortKey(key: string, types: string[]): SortKey {
  const descending = key.startsWith('-');
  const code = descending ? key.slice(1) : key;
  if (code === '_id' || code === '_lastUpdated') return { code, descending };
  const definition = types.map((t) => getSearchParameter(t, code)).find((d) => d !== undefined);
  if (!definition || !INDEXED.has(definition.type))
    throw badRequest(`Cannot sort by "${code}": it is not a search parameter of ${types.join(', ')}.`);
  return { code, descending, paramType: definition.type as IndexedParamType };
}

function parseCriterion(
  name: string,
  code: string,
  modifier: string | undefined,
  paramType: IndexedParamType,
  rawValue: string,
  targets: string[],
): Criterion | undefined {
  if (modifier === 'missing') {
    if (rawValue !== 'true' && rawValue !== 'false')
      throw badRequest(`${name} takes true or false, not "${rawValue}".`);
    return { kind: 'missing', code, paramType, missing: rawValue === 'true' };
  }
  const values = splitValues(rawValue);
  if (values.length === 0 || values.some((v) => v === ''))
    throw badRequest(`Search parameter ${name} has an empty value.`);
  switch (paramType) {
    case 'string':
      if (modifier !== undefined && modifier !== 'exact' && modifier !== 'contains') return undefined;
      return { kind: 'string', code, modifier, values: values.map(unescape) };
    case 'token':
      if (modifier === 'of-type') return parseOfType(name, code, values);
      if (modifier !== undefined && !['not', 'text', 'above', 'below'].includes(modifier)) return undefined;
      return {
        kind: 'token',
        code,
        modifier: modifier as 'not' | 'text' | 'above' | 'below' | undefined,
        values: values.map((v) => (modifier === 'text' ? { code: unescape(v) } : parseToken(v))),
      };
    case 'date':
      if (modifier !== undefined) return undefined;
      return { kind: 'date', code, values: values.map((v) => parseDate(name, v)) };
    case 'reference':
      return parseReferenceCriterion(name, code, modifier, values, targets);
    case 'number':
    case 'quantity':
      if (modifier !== undefined) return undefined;
      return {
        kind: paramType,
        code,
        values: values.map((v) => parseNumber(name, v, paramType === 'quantity')),
      };
    case 'uri':
      if (modifier !== undefined && modifier !== 'below' && modifier !== 'above') return undefined;
      return { kind: 'uri', code, modifier, values: values.map(unescape) };
  }
}

function parseReferenceCriterion(
  name: string,
  code: string,
  modifier: string | undefined,
  values: string[],
  targets: string[],
): Criterion | undefined {
  // `:identifier` matches Reference.identifier, indexed as tokens under the reference parameter.
  if (modifier === 'identifier') return { kind: 'token', code, values: values.map(parseToken) };
  if (modifier !== undefined && !/^[A-Z][A-Za-z]+$/.test(modifier)) return undefined;
  const keys = values.flatMap((value) => {
    if (/^[a-z][a-z0-9+.-]*:/i.test(value)) return [value];
    const parts = value.split('/');
    if (parts.length === 2 || (parts.length === 4 && parts[2] === '_history')) {
      if (!/^[A-Z][A-Za-z]+$/.test(parts[0]!) || parts[1] === '' || parts[3] === '')
        throw badRequest(`${name}: "${value}" is not a reference (expected id, Type/id or a URL).`);
      if (modifier && parts[0] !== modifier)
        throw badRequest(`${name}: ${value} is not a ${modifier} reference.`);
      return [`${parts[0]}/${parts[1]}`];
    }
    if (parts.length !== 1)
      throw badRequest(`${name}: "${value}" is not a reference (expected id, Type/id or a URL).`);
    const types = modifier ? [modifier] : targets;
    return types.map((t) => `${t}/${value}`);
  });
  return { kind: 'reference', code, values: keys };
}

/**
 * A composite value is its components' values joined by `$` (`http://loinc.org|8480-6$gt100`), each
 * read as its own parameter type reads it; `,` separates alternatives. Only `:missing` applies.
 */
function parseComposite(
  name: string,
  code: string,
  modifier: string | undefined,
  definition: SearchParamDef,
  types: string[],
  rawValue: string,
): Criterion | string {
  const components = definition.components ?? [];
  const componentTypes = components.map((c) => c.type);
  if (!componentTypes.every((t): t is IndexedParamType => t !== undefined && INDEXED.has(t)))
    return `is not known for ${types.join(', ')}`;
  if (modifier === 'missing') {
    if (rawValue !== 'true' && rawValue !== 'false')
      throw badRequest(`${name} takes true or false, not "${rawValue}".`);
    // Every indexed element has a value for each component, so the first one stands for them all.
    return {
      kind: 'missing',
      code: componentCode(code, 0),
      paramType: componentTypes[0]!,
      missing: rawValue === 'true',
    };
  }
  if (modifier !== undefined) return `does not support the modifier :${modifier}`;
  const values = splitValues(rawValue).map((alternative) => {
    const parts = splitUnescaped(alternative, '$');
    if (parts.length !== components.length) {
      throw badRequest(
        `${name}: "${alternative}" needs ${components.length} values separated by $ (${components.map((c) => c.code).join('$')}).`,
      );
    }
    return parts.map((part, i) => {
      const targets = types.flatMap((t) => getSearchParameter(t, components[i]!.code ?? '')?.targets ?? []);
      return parseCriterion(
        name,
        componentCode(code, i),
        undefined,
        componentTypes[i]!,
        part,
        targets,
      ) as ValueCriterion;
    });
  });
  return { kind: 'composite', code, values };
}

/** Without a distance, `near` means within this many kilometres. */
const DEFAULT_NEAR_KM = 5;

/** `near=latitude|longitude|distance|units` (units a UCUM length, km when omitted). */
function parseNear(name: string, value: string): { latitude: number; longitude: number; km: number } {
  const [latText = '', lonText = '', distanceText = '', units = 'km'] = splitUnescaped(value, '|').map(
    unescape,
  );
  const number = (text: string) => (/^[-+]?(\d+\.?\d*|\.\d+)$/.test(text) ? Number(text) : NaN);
  const [latitude, longitude] = [number(latText), number(lonText)];
  const distance = distanceText === '' ? DEFAULT_NEAR_KM : number(distanceText);
  const unit = canonicalUnit(units || 'km');
  if (
    !(Math.abs(latitude) <= 90) ||
    !(Math.abs(longitude) <= 180) ||
    !(distance >= 0) ||
    unit?.unit !== 'm'
  ) {
    throw badRequest(
      `${name}: "${value}" must read latitude|longitude|distance|units, e.g. 42.25|-83.69|10|km.`,
    );
  }
  const km = distanceText === '' ? distance : (distance * unit.factor) / 1000;
  return { latitude, longitude, km };
}

/** `identifier:of-type=type-system|type-code|value`: an identifier of that type with that value. */
function parseOfType(name: string, code: string, values: string[]): Criterion {
  return {
    kind: 'composite',
    code,
    values: values.map((value) => {
      const parts = splitUnescaped(value, '|').map(unescape);
      if (parts.length !== 3 || parts[1] === '' || parts[2] === '')
        throw badRequest(`${name}: "${value}" must read type-system|type-code|value.`);
      return [
        {
          kind: 'token',
          code: componentCode(code, 0),
          values: [{ system: parts[0] || undefined, code: parts[1] }],
        },
        { kind: 'token', code: componentCode(code, 1), values: [{ code: parts[2] }] },
      ];
    }),
  };
}

function parseToken(value: string): TokenValue {
  const bar = indexOfUnescaped(value, '|');
  if (bar < 0) return { code: unescape(value) };
  const system = unescape(value.slice(0, bar));
  const code = unescape(value.slice(bar + 1));
  return { system, code: code === '' ? undefined : code };
}

function takePrefix(value: string): [Prefix, string] {
  const prefix = value.slice(0, 2) as Prefix;
  if (PREFIXES.has(prefix) && /^[a-z]{2}[-+\d.]/.test(value)) return [prefix, value.slice(2)];
  return ['eq', value];
}

function parseDate(name: string, value: string): DateValue {
  // A `+` zone sent unencoded in a URL arrives as a space (`2021-03-05T10:00:00 01:00`): read it as `+`.
  const [prefix, rest] = takePrefix(value.replace(/^(.*T[\d:.]+) (\d{2}:\d{2})$/, '$1+$2'));
  const range = dateRange(rest);
  if (!range) {
    throw badRequest(
      `${name}: "${value}" is not a valid date (expected e.g. 2021, 2021-03, 2021-03-04 or 2021-03-04T10:00:00Z, with an optional prefix like ge).`,
    );
  }
  return { prefix, start: range.start, end: range.end };
}

function parseNumber(name: string, value: string, isQuantity: boolean): NumberValue {
  const [prefix, rest] = takePrefix(value);
  const [numberText, system, code] = isQuantity ? splitQuantity(rest) : [rest];
  const tooManyParts = isQuantity && splitUnescaped(rest, '|').length > 3;
  if (tooManyParts || !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(numberText)) {
    throw badRequest(
      `${name}: "${value}" is not a number${isQuantity ? ' (expected [prefix]number|system|code)' : ''}.`,
    );
  }
  const number = Number(numberText);
  // The written precision defines the range an `eq` search covers: 100 is [99.5, 100.5). With an
  // exponent, as the R4 specification's example reads it, one digit finer: 1e2 is [95, 105).
  const [mantissa, exponentText] = numberText.split(/[eE]/) as [string, string?];
  const exponent = exponentText === undefined ? 0 : Number(exponentText) - 1;
  const decimals = (mantissa.split('.')[1] ?? '').length - exponent;
  const half = 0.5 * 10 ** -decimals;
  const result: NumberValue = {
    prefix,
    value: number,
    low: number - half,
    high: number + half,
    system: system || undefined,
    code: code || undefined,
  };
  // A UCUM quantity is compared in canonical units, so that `5|http://unitsofmeasure.org|g` finds 5000 mg.
  const unit = system === UCUM_SYSTEM && code ? canonicalUnit(code) : undefined;
  if (unit) {
    const [value, low, high] = [number, result.low, result.high].map((n) => toCanonical(n, unit));
    result.canonical = { unit: unit.unit, value: value!, low: low!, high: high! };
  }
  return result;
}

function splitQuantity(value: string): [string, string?, string?] {
  const parts = splitUnescaped(value, '|');
  return [
    parts[0]!,
    parts[1] !== undefined ? unescape(parts[1]) : undefined,
    parts[2] !== undefined ? unescape(parts[2]) : undefined,
  ];
}

/** Comma-separated values (an OR), where `\,` is a literal comma (unescaped by each value's parser). */
function splitValues(value: string): string[] {
  return splitUnescaped(value, ',');
}

function splitUnescaped(value: string, separator: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    if (value[i] === '\\') i++;
    else if (value[i] === separator) {
      parts.push(value.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(value.slice(start));
  return parts;
}

function indexOfUnescaped(value: string, char: string): number {
  for (let i = 0; i < value.length; i++) {
    if (value[i] === '\\') i++;
    else if (value[i] === char) return i;
  }
  return -1;
}

function unescape(value: string): string {
  return value.replace(/\\([\\,|$])/g, '$1');
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}
