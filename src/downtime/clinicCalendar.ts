/** Dates and times in the practice's time zone, which is what a schedule is read in. */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The local date (YYYY-MM-DD) and time (HH:MM) of an instant in a time zone. */
export function localDateTime(instant: Date, timeZone: string): { date: string; time: string } {
  const parts = Object.fromEntries(
    formatter(timeZone)
      .formatToParts(instant)
      .map((p) => [p.type, p.value]),
  );
  return { date: `${parts.year}-${parts.month}-${parts.day}`, time: `${parts.hour}:${parts.minute}` };
}

/** A FHIR dateTime as a local date and time; a date without a time has no time. */
export function localDateTimeOf(
  value: string,
  timeZone: string,
): { date: string; time?: string } | undefined {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return { date: value };
  const instant = new Date(value);
  if (Number.isNaN(instant.getTime())) return undefined;
  return localDateTime(instant, timeZone);
}

export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}
