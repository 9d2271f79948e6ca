/**
 * When `serve` makes downtime copies: on the hour through clinic hours, and once at night, in the
 * practice's time zone. A copy made at 18:00 and at 02:00 means that at 07:40 on a Monday the newest
 * copy is at most a few hours old.
 */
import { localDateTime } from './clinicCalendar.ts';
import type { DowntimeSettings } from './downtimeSettings.ts';

type Timing = Pick<DowntimeSettings, 'clinicHours' | 'nightHour'>;

const QUARTER_HOUR = 15 * 60_000;

/** The next export time strictly after `after`. */
export function nextExportTime(after: Date, timing: Timing, timeZone: string): Date {
  let candidate = Math.floor(after.getTime() / QUARTER_HOUR) * QUARTER_HOUR + QUARTER_HOUR;
  // Stepping by quarter hours finds local whole hours in every zone, including +05:45 and +09:30.
  for (let step = 0; step < 4 * 24 * 3; step++, candidate += QUARTER_HOUR) {
    const { time } = localDateTime(new Date(candidate), timeZone);
    const [hour, minute] = time.split(':').map(Number);
    if (minute !== 0) continue;
    const inClinicHours = hour >= timing.clinicHours.start && hour < timing.clinicHours.end;
    if (inClinicHours || hour === timing.nightHour) return new Date(candidate);
  }
  throw new Error('No downtime export time in the next three days: check clinicHours and nightHour.');
}

/** Runs `job` at every time `nextTime` gives, until stopped. A failing job is reported and the schedule goes on. */
export function scheduleExports(
  nextTime: (after: Date) => Date,
  job: () => Promise<void>,
  onError: (error: unknown) => void,
  onScheduled: (nextAt: Date) => void = () => undefined,
): { next: () => Date; stop: () => void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  // A broken settings file must not stop the server: report it and look again in an hour.
  const safeNextTime = () => {
    try {
      return nextTime(new Date());
    } catch (error) {
      onError(error);
      return new Date(Date.now() + 3_600_000);
    }
  };
  let nextAt = safeNextTime();
  const arm = () => {
    // setTimeout cannot wait more than about 24.8 days; the next time is never more than a day away.
    timer = setTimeout(
      async () => {
        try {
          await job();
        } catch (error) {
          onError(error);
        }
        nextAt = safeNextTime();
        if (stopped) return;
        onScheduled(nextAt);
        arm();
      },
      Math.max(0, nextAt.getTime() - Date.now()),
    );
    timer.unref();
  };
  arm();
  return {
    next: () => nextAt,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
