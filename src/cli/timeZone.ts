import { CliError } from './main.ts';

/** Accepts an IANA zone name that this Node.js knows, e.g. America/Chicago. */
export function checkTimeZone(zone: string): string {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone;
  } catch {
    throw new CliError(`"${zone}" is not a time zone name; use an IANA name such as America/New_York.`);
  }
}
