/** What every part of the demo generator needs to know: the clock, the zone, the seed, the region. */
import { localDateTime } from './calendar.ts';
import type { Region } from './names.ts';
import type { Random } from './random.ts';

export interface DemoContext {
  /** `YYYY-MM-DD` in the practice's zone. */
  today: string;
  timeZone: string;
  /** The moment the demo is a snapshot of: minutes after local midnight on `today`. */
  asOfMinutes: number;
  rng: Random;
  region: Region;
}

/** A FHIR dateTime for a local time on a date, with the practice's UTC offset on that date. */
export const at = (ctx: DemoContext, date: string, minutes: number) =>
  localDateTime(date, minutes, ctx.timeZone);
