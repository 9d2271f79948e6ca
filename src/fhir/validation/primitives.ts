/**
 * Checks of FHIR primitive values (id, date, decimal, code...), built from the regexes and maximum
 * lengths that the R4 primitive type definitions declare, plus what a regex cannot say: calendar
 * dates, 32-bit integer ranges.
 */
import { typeDefinition, type StructureDefinition } from './structureDefinitions.ts';

export type JsonKind = 'string' | 'number' | 'boolean';

export interface PrimitiveType {
  name: string;
  /** How the value is written in FHIR JSON. */
  json: JsonKind;
  /** What is wrong with a value of the right JSON kind, or undefined when it is valid. */
  check(value: string | number | boolean): string | undefined;
}

const REGEX_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/regex';
const INT32_MAX = 2147483647;
const INT32_MIN = -2147483648;

/** What a valid value looks like, for the diagnostics. */
const FORMAT_HINTS: Record<string, string> = {
  id: '1 to 64 letters, digits, "-" or "."',
  date: 'YYYY, YYYY-MM or YYYY-MM-DD',
  dateTime: 'YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss with a time zone (Z or +hh:mm)',
  instant: 'YYYY-MM-DDThh:mm:ss[.sss] with a time zone (Z or +hh:mm)',
  time: 'hh:mm:ss[.sss]',
  decimal: 'a decimal number',
  integer: 'a whole number between -2147483648 and 2147483647',
  unsignedInt: 'a whole number between 0 and 2147483647',
  positiveInt: 'a whole number between 1 and 2147483647',
  boolean: 'true or false',
  uri: 'a URI without whitespace',
  url: 'a URL without whitespace',
  canonical: 'a canonical URL without whitespace',
  code: 'a code without leading, trailing or repeated whitespace',
  oid: 'urn:oid: followed by a dotted OID',
  uuid: 'urn:uuid: followed by a lowercase UUID',
  base64Binary: 'base64 data',
  string: 'a non-empty string',
  markdown: 'non-empty markdown text',
  xhtml: 'an XHTML <div> element',
};

const INTEGER_RANGES: Record<string, [number, number]> = {
  integer: [INT32_MIN, INT32_MAX],
  unsignedInt: [0, INT32_MAX],
  positiveInt: [1, INT32_MAX],
};

/**
 * The FHIR regexes are XML Schema regexes, where `\s` means only space, tab, CR and LF; JavaScript's
 * `\s` also matches no-break and other Unicode spaces, which are valid inside a FHIR string.
 */
function xsdRegex(pattern: string): RegExp | undefined {
  if (pattern === '[ \\r\\n\\t\\S]+') return undefined; // any non-empty text, checked without a regex
  const js = pattern
    .replaceAll('[ \\r\\n\\t\\S]', '[^]')
    .replaceAll('[^\\s]', '[^ \\t\\n\\r]')
    .replaceAll('\\S', '[^ \\t\\n\\r]')
    .replaceAll('\\s', '[ \\t\\n\\r]');
  return new RegExp(`^(?:${js})$`);
}

/** The published base64Binary regex backtracks exponentially on bad input, so this is a linear scan. */
function isBase64(value: string): boolean {
  let count = 0;
  let padding = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue;
    const isDataChar =
      (c >= 0x41 && c <= 0x5a) ||
      (c >= 0x61 && c <= 0x7a) ||
      (c >= 0x30 && c <= 0x39) ||
      c === 0x2b ||
      c === 0x2f;
    if (c === 0x3d) padding++;
    else if (!isDataChar || padding > 0) return false;
    count++;
  }
  return count > 0 && count % 4 === 0 && padding <= 2;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The regexes accept 2021-02-30; a calendar does not. Expects a value that already matched. */
function impossibleDay(value: string): string | undefined {
  if (value.length < 10) return undefined;
  const year = Number(value.slice(0, 4));
  const month = Number(value.slice(5, 7));
  const day = Number(value.slice(8, 10));
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1];
  return day > days ? `day ${day} does not exist in ${value.slice(0, 7)}` : undefined;
}

function jsonKindOf(sd: StructureDefinition): JsonKind {
  for (
    let t: StructureDefinition | undefined = sd;
    t;
    t = t.baseDefinition ? typeDefinition(t.baseDefinition) : undefined
  ) {
    if (t.id === 'boolean') return 'boolean';
    if (t.id === 'integer' || t.id === 'decimal') return 'number';
  }
  return 'string';
}

function build(sd: StructureDefinition): PrimitiveType {
  const name = sd.id;
  const valueElement = sd.snapshot.element.find((e) => e.path === `${name}.value`);
  const pattern = valueElement?.type?.[0]?.extension?.find((x) => x.url === REGEX_EXTENSION)?.valueString;
  const regex = pattern && name !== 'base64Binary' ? xsdRegex(pattern) : undefined;
  const maxLength = valueElement?.maxLength;
  const range = INTEGER_RANGES[name];
  const hasCalendarDay = name === 'date' || name === 'dateTime' || name === 'instant';
  const invalid = (value: unknown, why?: string) =>
    `${JSON.stringify(typeof value === 'string' ? value.slice(0, 80) : value)} is not a valid ${name}${why ? ` (${why})` : ''}; expected ${FORMAT_HINTS[name] ?? `a FHIR ${name}`}`;

  const check = (value: string | number | boolean): string | undefined => {
    if (typeof value === 'number') {
      if (range && !Number.isInteger(value)) return invalid(value, 'not a whole number');
      if (range && (value < range[0] || value > range[1])) return invalid(value, 'out of range');
      if (regex && !regex.test(String(value))) return invalid(value);
      return undefined;
    }
    if (typeof value !== 'string') return undefined;
    if (value.length === 0) return invalid(value, 'empty strings are not allowed in FHIR');
    if (maxLength !== undefined && value.length > maxLength) {
      return `A ${name} may hold at most ${maxLength} characters; this one has ${value.length}`;
    }
    if (name === 'base64Binary' && !isBase64(value)) return invalid(value);
    if (regex && !regex.test(value)) return invalid(value);
    const badDay = hasCalendarDay ? impossibleDay(value) : undefined;
    return badDay ? invalid(value, badDay) : undefined;
  };
  return { name, json: jsonKindOf(sd), check };
}

const cache = new Map<string, PrimitiveType>();

/** The checker of a primitive type, or undefined when `name` is not an R4 primitive type. */
export function primitiveType(name: string): PrimitiveType | undefined {
  let type = cache.get(name);
  if (!type) {
    const sd = typeDefinition(name);
    if (!sd || sd.kind !== 'primitive-type') return undefined;
    type = build(sd);
    cache.set(name, type);
  }
  return type;
}
