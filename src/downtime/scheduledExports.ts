/**
 * The downtime job inside `serve`: when downtime copies are set up, write them to every downtime
 * location on schedule. Failures are logged (without patient data) and retried at the next time.
 */
import { hostname } from 'node:os';
import type { ResourceStore } from '../store/index.ts';
import { unwrapKey } from './downtimeCrypto.ts';
import { exportDowntime } from './downtimeExport.ts';
import { readDowntimeSettings } from './downtimeSettings.ts';
import { nextExportTime, scheduleExports } from './downtimeSchedule.ts';

export interface ScheduledExportsOptions {
  store: ResourceStore;
  dataDir: string;
  dataKey: Buffer;
  storeId: string;
  timeZone: string;
  log: (line: string) => void;
}

/** Starts the schedule; returns undefined when downtime copies are not set up. */
export function startScheduledExports(options: ScheduledExportsOptions): { stop: () => void } | undefined {
  const initial = readDowntimeSettings(options.dataDir);
  if (!initial) return undefined;
  const schedule = scheduleExports(
    (after) => nextExportTime(after, readDowntimeSettings(options.dataDir) ?? initial, options.timeZone),
    async () => {
      // Settings are read at each run, so a new passphrase or location applies without a restart,
      // and removing downtime.json turns the copies off.
      const settings = readDowntimeSettings(options.dataDir);
      if (!settings || settings.locations.length === 0) {
        options.log('downtime copies: not set up, or no locations; nothing written');
        return;
      }
      const report = await exportDowntime({
        store: options.store,
        timeZone: options.timeZone,
        key: unwrapKey(options.dataKey, options.storeId, settings.wrappedKey),
        locations: settings.locations,
        days: settings.days,
        census: settings.census,
        includeRestricted: settings.includeRestricted,
        staleAfterHours: settings.staleAfterHours,
        maxFileBytes: settings.maxFileMegabytes * 1024 * 1024,
        exportedBy: `scheduled export on ${hostname()}`,
      });
      const failed = report.locations.filter((l) => l.error);
      options.log(
        `downtime copy: ${report.patients} charts, ${(report.bytes / 1048576).toFixed(2)} MB, ` +
          `${report.locations.length - failed.length} of ${report.locations.length} locations written in ${report.seconds.toFixed(1)} s` +
          failed.map((f) => `; FAILED ${f.error}`).join(''),
      );
    },
    (error) => options.log(`downtime copy FAILED: ${(error as Error).message}`),
    (nextAt) => options.log(`next downtime copy at ${nextAt.toISOString()}`),
  );
  options.log(
    `downtime copies to ${initial.locations.length} location(s); next at ${schedule.next().toISOString()}`,
  );
  return schedule;
}
