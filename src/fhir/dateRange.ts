/**
 * FHIR dates as the instants they cover. A date is a range whose width is its precision
 * (https://hl7.org/fhir/R4/search.html#date): `2021` is all of 2021, `2021-03-04T10:00:00Z` that
 * second. Both the index (stored values) and the search side (query values) read dates here.
 */

/** An inclusive range in epoch milliseconds. */
export interface DateRange {
  start: number;
  end: number;
}

/** The earliest and latest instants JavaScript dates can hold: the open ends of a Period. */
export const MIN_INSTANT = -8_640_000_000_000_000;
export const MAX_INSTANT = 8_640_000_000_000_000;

// year, month, day, hour, minute, second, fraction, zone: each part optional after the one before.
// Minutes without seconds are not valid FHIR data but are valid search values (`ge2021-03-04T10:00`).
const DATE_TIME =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/**
 * The range a FHIR date, dateTime or instant covers, or undefined when `text` is not one.
 * A value without a time zone (every date, and dateTimes written without one) is read in the
 * process's local time zone, so the server's TZ decides where a day begins. Fractional seconds
 * are exact to the millisecond; digits beyond it are dropped.
 */
export function dateRange(text: string): DateRange | undefined {
  const m = DATE_TIME.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, fraction, zone] = m;
  const year = Number(y);
  const month = mo === undefined ? 1 : Number(mo);
  const day = d === undefined ? 1 : Number(d);
  const hour = h === undefined ? 0 : Number(h);
  const minute = mi === undefined ? 0 : Number(mi);
  const second = s === undefined ? 0 : Number(s);
  const millis = fraction === undefined ? 0 : Number(fraction.slice(0, 3).padEnd(3, '0'));
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 60) return undefined; // 60: a leap second, as FHIR allows

  if (h === undefined) {
    // Calendar precision: the range ends where the next year, month or day begins, in local time
    // (a local day is 23 or 25 hours long when daylight saving time changes).
    const start = localTime(year, month - 1, day);
    if (mo === undefined) return { start, end: localTime(year + 1, 0, 1) - 1 };
    if (d === undefined) return { start, end: localTime(year, month, 1) - 1 };
    return { start, end: localTime(year, month - 1, day + 1) - 1 };
  }

  let start: number;
  if (zone === undefined) {
    start = localTime(year, month - 1, day, hour, minute, second, millis);
  } else {
    const offset = zoneOffsetMinutes(zone);
    if (offset === undefined) return undefined;
    start = utcTime(year, month - 1, day, hour, minute, second, millis) - offset * 60_000;
  }
  const width = fraction !== undefined ? 1 : s !== undefined ? 1000 : 60_000;
  return { start, end: start + width - 1 };
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1];
}

/** `Z` → 0, `+02:00` → 120, `-05:30` → -330; undefined beyond the ±14:00 that exists on Earth. */
function zoneOffsetMinutes(zone: string): number | undefined {
  if (zone === 'Z') return 0;
  const hours = Number(zone.slice(1, 3));
  const minutes = Number(zone.slice(4, 6));
  if (hours > 14 || minutes > 59) return undefined;
  return (zone[0] === '-' ? -1 : 1) * (hours * 60 + minutes);
}

// The Date constructors read years 0-99 as 1900-1999 (then carry overflowing months and days into
// the year); taking the 1900 back off afterwards keeps the carry.
function localTime(year: number, monthIndex: number, day: number, h = 0, mi = 0, s = 0, ms = 0): number {
  const date = new Date(year, monthIndex, day, h, mi, s, ms);
  if (year < 100) date.setFullYear(date.getFullYear() - 1900);
  return date.getTime();
}

function utcTime(
  year: number,
  monthIndex: number,
  day: number,
  h: number,
  mi: number,
  s: number,
  ms: number,
): number {
  const date = new Date(Date.UTC(year, monthIndex, day, h, mi, s, ms));
  if (year < 100) date.setUTCFullYear(date.getUTCFullYear() - 1900);
  return date.getTime();
}
