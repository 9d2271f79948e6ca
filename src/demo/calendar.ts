/**
 * Calendar arithmetic on plain `YYYY-MM-DD` dates, and local wall-clock times turned into FHIR
 * instants with the practice's UTC offset on that very date. Offsets come from
 * Intl.DateTimeFormat, so daylight-saving changes are honoured without a time-zone library.
 */

const DAY_MS = 86_400_000;

// Dates repeat a lot (every visit of every chart), so both directions are memoised.
const dayNumbers = new Map<string, number>();
const dates = new Map<number, string>();

/** Days since 1970-01-01 for a `YYYY-MM-DD` date. */
export function dayNumber(date: string): number {
  let n = dayNumbers.get(date);
  if (n === undefined) {
    n = Math.round(
      Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10))) / DAY_MS,
    );
    dayNumbers.set(date, n);
  }
  return n;
}

export function fromDayNumber(day: number): string {
  let date = dates.get(day);
  if (date === undefined) {
    date = new Date(day * DAY_MS).toISOString().slice(0, 10);
    dates.set(day, date);
  }
  return date;
}

export function addDays(date: string, days: number): string {
  return fromDayNumber(dayNumber(date) + days);
}

/** Adds calendar months, clamping the day to the target month's length (Jan 31 + 1 month = Feb 28). */
export function addMonths(date: string, months: number): string {
  const [y, m, d] = date.split('-').map(Number);
  const index = y * 12 + (m - 1) + months;
  const year = Math.floor(index / 12);
  const month = index - year * 12;
  const last = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return fromDayNumber(Math.round(Date.UTC(year, month, Math.min(d, last)) / DAY_MS));
}

/** 0 = Sunday ... 6 = Saturday. */
export function dayOfWeek(date: string): number {
  return (((dayNumber(date) + 4) % 7) + 7) % 7;
}

export const isWeekend = (date: string) => dayOfWeek(date) === 0 || dayOfWeek(date) === 6;

/** Whole years between a birth date and a date (the age on that date). */
export function ageOn(birthDate: string, date: string): number {
  const years = Number(date.slice(0, 4)) - Number(birthDate.slice(0, 4));
  return date.slice(5) < birthDate.slice(5) ? years - 1 : years;
}

/** Age in fractional years, for growth curves and slow physiological drift. */
export const yearsBetween = (from: string, to: string) => (dayNumber(to) - dayNumber(from)) / 365.25;

export const isValidDate = (date: string) =>
  /^\d{4}-\d{2}-\d{2}$/.test(date) && fromDayNumber(dayNumber(date)) === date;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Throws a RangeError naming the zone when the runtime does not know it. */
export function assertTimeZone(timeZone: string): void {
  formatterFor(timeZone);
}

/** The zone's offset from UTC, in minutes, at a UTC instant. */
function offsetAt(utcMs: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatterFor(timeZone).formatToParts(new Date(utcMs))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  const wall = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour % 24, parts.minute, parts.second);
  return Math.round((wall - Math.floor(utcMs / 1000) * 1000) / 60_000);
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** The offset at a local wall time, found by guessing and correcting once. */
function offsetAtWallTime(date: string, minutes: number, timeZone: string): number {
  const wall = dayNumber(date) * DAY_MS + minutes * 60_000;
  const guess = offsetAt(wall, timeZone);
  return offsetAt(wall - guess * 60_000, timeZone);
}

/** Per zone and date: one offset for the whole day, or undefined on a day the offset changes. */
const dayOffsets = new Map<string, string | undefined>();
const changeDayOffsets = new Map<string, string>();

function offsetFor(date: string, minutes: number, timeZone: string): string {
  const dayKey = `${timeZone}|${date}`;
  if (!dayOffsets.has(dayKey)) {
    // The offset is the same all day unless the zone changes it that day: compare the UTC
    // offsets at the instants of local 00:00 and 23:59.
    const wall = dayNumber(date) * DAY_MS;
    const early = offsetAt(wall - offsetAt(wall, timeZone) * 60_000, timeZone);
    const late = offsetAt(wall + (24 * 60 - 1 - early) * 60_000, timeZone);
    dayOffsets.set(dayKey, early === late ? formatOffset(early) : undefined);
  }
  const whole = dayOffsets.get(dayKey);
  if (whole !== undefined) return whole;
  // A daylight-saving change day: zones change offset on the hour or half hour.
  const key = `${dayKey}|${Math.floor(minutes / 30)}`;
  let text = changeDayOffsets.get(key);
  if (text === undefined) {
    text = formatOffset(offsetAtWallTime(date, minutes, timeZone));
    changeDayOffsets.set(key, text);
  }
  return text;
}

/**
 * The FHIR dateTime/instant for a local wall-clock time (`minutes` after local midnight) on `date`
 * in `timeZone`, e.g. `2026-03-09T09:20:00-04:00`. Business hours never fall into a DST gap, but a
 * gap time still resolves to a real instant (the offset after the change).
 */
export function localDateTime(date: string, minutes: number, timeZone: string): string {
  return `${date}T${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}:00${offsetFor(date, minutes, timeZone)}`;
}

/** `HH:MM` for minutes after midnight. */
export const clockTime = (minutes: number) => `${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;

/** Parses `HH:MM` into minutes after midnight, or undefined when malformed. */
export function parseClockTime(text: string): number | undefined {
  const m = /^(\d{2}):(\d{2})$/.exec(text);
  if (!m) return undefined;
  const h = Number(m[1]);
  const min = Number(m[2]);
  return h < 24 && min < 60 ? h * 60 + min : undefined;
}
