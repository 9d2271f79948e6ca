/**
 * Turns the FHIR values a search expression selects into index values, by parameter type and
 * element type, following https://hl7.org/fhir/R4/search.html. Values of a type that a parameter
 * type cannot use (an Attachment for a reference) add nothing.
 */
import { dateRange, type DateRange, MAX_INSTANT, MIN_INSTANT } from './dateRange.ts';
import { isResourceType } from './fhirModel.ts';
import { parseReference } from './referenceTarget.ts';
import type { IndexValue, SearchParamType } from './types.ts';

type Json = Record<string, unknown>;

/** Appends to `out` the index values that `value`, of FHIR type `elementType`, gives a parameter of `paramType`. */
export function appendIndexValues(
  paramType: SearchParamType,
  elementType: string,
  value: unknown,
  out: IndexValue[],
): void {
  if (value === null || value === undefined) return;
  switch (paramType) {
    case 'string':
      return appendStrings(elementType, value, out);
    case 'token':
      return appendTokens(elementType, value, out);
    case 'date':
      return appendDate(elementType, value, out);
    case 'reference':
      return appendReference(elementType, value, out);
    case 'number':
      return appendNumber(elementType, value, out);
    case 'quantity':
      return appendQuantity(elementType, value, out);
    case 'uri':
      if (isText(value)) out.push({ kind: 'uri', value });
      return;
    case 'special':
      return appendPosition(elementType, value, out);
    default:
      return; // composite parameters are indexed elsewhere
  }
}

/**
 * Location `near` (the only R4 special parameter with an expression): a position is a composite of
 * latitude and longitude, so that a search can take both from the same position.
 */
function appendPosition(elementType: string, value: unknown, out: IndexValue[]): void {
  if (elementType !== 'BackboneElement' || !isObject(value)) return;
  const { latitude, longitude } = value;
  if (!isNumber(latitude) || !isNumber(longitude)) return;
  out.push({
    kind: 'composite',
    components: [[{ kind: 'number', value: latitude }], [{ kind: 'number', value: longitude }]],
  });
}

const humanNameParts = ['family', 'given', 'prefix', 'suffix', 'text'];
const addressParts = ['line', 'city', 'district', 'state', 'postalCode', 'country', 'text'];

function appendStrings(elementType: string, value: unknown, out: IndexValue[]): void {
  const parts =
    elementType === 'HumanName' ? humanNameParts : elementType === 'Address' ? addressParts : undefined;
  if (!parts) {
    if (isText(value)) out.push({ kind: 'string', value });
    return;
  }
  if (!isObject(value)) return;
  for (const part of parts) {
    for (const text of asArray(value[part])) {
      if (isText(text)) out.push({ kind: 'string', value: text });
    }
  }
}

function appendTokens(elementType: string, value: unknown, out: IndexValue[]): void {
  switch (elementType) {
    case 'Coding':
      return appendCoding(value, out);
    case 'CodeableConcept':
      if (!isObject(value)) return;
      for (const coding of asArray(value.coding)) appendCoding(coding, out);
      if (isText(value.text)) out.push({ kind: 'token', text: value.text });
      return;
    case 'Identifier':
      return appendIdentifier(value, out);
    case 'ContactPoint':
      // The number or address is the code and ContactPoint.system (phone, email...) the token's system,
      // as other servers index it: `telecom=email|a@b.org` and `telecom=a@b.org` both find it.
      if (isObject(value))
        pushToken(out, typeof value.system === 'string' ? value.system : undefined, value.value, undefined);
      return;
    case 'boolean':
      if (typeof value === 'boolean') out.push({ kind: 'token', code: String(value) });
      return;
    default:
      // code, string, id, uri...: the value is the code, its system implied by the element.
      pushToken(out, undefined, value, undefined);
  }
}

/**
 * An Identifier is a token (system, value; its type's text as text). With a typed value it is also a
 * composite of its type's codings and its value, which `:of-type` (`type-system|type-code|value`)
 * searches: both must hold for the same identifier.
 */
function appendIdentifier(identifier: unknown, out: IndexValue[]): void {
  if (!isObject(identifier)) return;
  const type = isObject(identifier.type) ? identifier.type : undefined;
  pushToken(out, identifier.system, identifier.value, type?.text);
  if (!type || !isText(identifier.value)) return;
  const typeCodings: IndexValue[] = [];
  for (const coding of asArray(type.coding)) {
    if (isObject(coding) && isText(coding.code))
      pushToken(typeCodings, coding.system, coding.code, undefined);
  }
  if (typeCodings.length > 0) {
    out.push({ kind: 'composite', components: [typeCodings, [{ kind: 'token', code: identifier.value }]] });
  }
}

function appendCoding(coding: unknown, out: IndexValue[]): void {
  if (isObject(coding)) pushToken(out, coding.system, coding.code, coding.display);
}

/** A token from whichever of its parts are non-empty strings; nothing when none is. */
function pushToken(out: IndexValue[], system: unknown, code: unknown, text: unknown): void {
  const token: IndexValue & { kind: 'token' } = { kind: 'token' };
  if (isText(system)) token.system = system;
  if (isText(code)) token.code = code;
  if (isText(text)) token.text = text;
  if (token.system !== undefined || token.code !== undefined || token.text !== undefined) out.push(token);
}

function appendDate(elementType: string, value: unknown, out: IndexValue[]): void {
  let range: DateRange | undefined;
  if (elementType === 'Period') range = isObject(value) ? periodRange(value) : undefined;
  else if (elementType === 'Timing') range = isObject(value) ? timingRange(value) : undefined;
  else if (isText(value)) range = dateRange(value); // date, dateTime, instant; a string only if it is a date
  if (range) out.push({ kind: 'date', start: range.start, end: range.end });
}

/** A Period without a start began at the dawn of time; one without an end is still going on. */
function periodRange(period: Json): DateRange | undefined {
  const start = isText(period.start) ? dateRange(period.start) : undefined;
  const end = isText(period.end) ? dateRange(period.end) : undefined;
  if (!start && !end) return undefined;
  return { start: start?.start ?? MIN_INSTANT, end: end?.end ?? MAX_INSTANT };
}

/** The outer limits of a schedule (its events and bounding Period); the repetitions in between are ignored, as the spec says. */
function timingRange(timing: Json): DateRange | undefined {
  const ranges: DateRange[] = [];
  for (const event of asArray(timing.event)) {
    const range = isText(event) ? dateRange(event) : undefined;
    if (range) ranges.push(range);
  }
  const repeat = isObject(timing.repeat) ? timing.repeat : undefined;
  const bounds = repeat && isObject(repeat.boundsPeriod) ? periodRange(repeat.boundsPeriod) : undefined;
  if (bounds) ranges.push(bounds);
  if (ranges.length === 0) return undefined;
  return {
    start: Math.min(...ranges.map((r) => r.start)),
    end: Math.max(...ranges.map((r) => r.end)),
  };
}

function appendReference(elementType: string, value: unknown, out: IndexValue[]): void {
  if (elementType === 'Reference') {
    if (!isObject(value)) return;
    if (isText(value.reference)) out.push(referenceValue(value.reference));
    // Reference.identifier, as a token of the same parameter, for `:identifier`.
    if (isObject(value.identifier))
      pushToken(out, value.identifier.system, value.identifier.value, undefined);
  } else if (elementType === 'canonical' || elementType === 'uri' || elementType === 'url') {
    // A canonical names a resource by its url (and version), not by its id: no target to fill.
    if (isText(value)) out.push({ kind: 'reference', reference: value });
  } else if (isResourceType(elementType) && isObject(value) && isText(value.id)) {
    // A resource inside this one (Bundle `composition`: its first entry) is referred to by type and id.
    out.push({
      kind: 'reference',
      reference: `${elementType}/${value.id}`,
      targetType: elementType,
      targetId: value.id,
    });
  }
}

function referenceValue(reference: string): IndexValue {
  const target = reference.startsWith('#') ? undefined : parseReference(reference);
  return target ? { kind: 'reference', reference, ...target } : { kind: 'reference', reference };
}

const quantityTypes = new Set([
  'Quantity',
  'Age',
  'Count',
  'Distance',
  'Duration',
  'SimpleQuantity',
  'MoneyQuantity',
]);

function appendNumber(elementType: string, value: unknown, out: IndexValue[]): void {
  if (isNumber(value)) out.push({ kind: 'number', value });
  else if (elementType === 'Range' && isObject(value)) {
    const range = rangeOf(value);
    if (range) out.push({ kind: 'number', value: range.low, high: range.high });
  }
}

function appendQuantity(elementType: string, value: unknown, out: IndexValue[]): void {
  if (!isObject(value)) return;
  if (elementType === 'Range') return appendQuantityRange(value, out);
  if (elementType === 'SampledData') return appendSampledData(value, out);
  if (!isNumber(value.value)) return;
  if (quantityTypes.has(elementType)) {
    out.push(withUnits({ kind: 'quantity', value: value.value }, value));
  } else if (elementType === 'Money') {
    const money: IndexValue & { kind: 'quantity' } = { kind: 'quantity', value: value.value };
    if (isText(value.currency))
      Object.assign(money, { system: 'urn:iso:std:iso:4217', code: value.currency });
    out.push(money);
  }
}

/**
 * A Range is indexed as the range it is, so that prefixes compare ranges as the spec says (`gt5`
 * matches a range reaching above 5). Its unit is its low end's, else its high end's.
 */
function appendQuantityRange(range: Json, out: IndexValue[]): void {
  const bounds = rangeOf(range);
  if (!bounds) return;
  const units = isObject(range.low) && isNumber(range.low.value) ? range.low : (range.high as Json);
  out.push(withUnits({ kind: 'quantity', value: bounds.low, high: bounds.high }, units));
}

/** The bounds of a Range; an end without a value is open. Undefined when neither end has one. */
function rangeOf(range: Json): { low: number; high: number } | undefined {
  const low = isObject(range.low) && isNumber(range.low.value) ? range.low.value : undefined;
  const high = isObject(range.high) && isNumber(range.high.value) ? range.high.value : undefined;
  if (low === undefined && high === undefined) return undefined;
  return { low: low ?? -Infinity, high: high ?? Infinity };
}

/**
 * SampledData (a waveform) is indexed as the range its samples span, in its origin's units: each
 * sample is origin + factor x data point; `E`, `L` and `U` (error, below and above the detection
 * limits) are not values.
 */
function appendSampledData(sampled: Json, out: IndexValue[]): void {
  const origin = isObject(sampled.origin) ? sampled.origin : undefined;
  if (!origin || !isNumber(origin.value) || !isText(sampled.data)) return;
  const factor = isNumber(sampled.factor) ? sampled.factor : 1;
  let low = Infinity;
  let high = -Infinity;
  for (const point of sampled.data.split(' ')) {
    const n = point === '' ? NaN : Number(point);
    if (!Number.isFinite(n)) continue;
    const sample = origin.value + factor * n;
    low = Math.min(low, sample);
    high = Math.max(high, sample);
  }
  if (low <= high) out.push(withUnits({ kind: 'quantity', value: low, high }, origin));
}

function withUnits(
  quantity: IndexValue & { kind: 'quantity' },
  source: Json,
): IndexValue & { kind: 'quantity' } {
  if (isText(source.system)) quantity.system = source.system;
  if (isText(source.code)) quantity.code = source.code;
  if (isText(source.unit)) quantity.unit = source.unit;
  return quantity;
}

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isText(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
}
