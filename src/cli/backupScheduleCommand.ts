/** `chartvault backup schedule`: which targets `serve` backs up to, how often, and when it verifies and drills. */
import { resolve } from 'node:path';
import {
  DEFAULT_SCHEDULE,
  describeRetention,
  parseRetention,
  isClock,
  readBackupSchedule,
  writeBackupSchedule,
  type BackupSchedule,
} from '../backup/index.ts';
import { isDataDirectory } from '../store/index.ts';
import { asCliError, openTarget } from './backupCommand.ts';
import { CliError } from './main.ts';

const DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

export async function backupScheduleCommand(options: {
  data: string;
  to?: string[];
  every?: string;
  verifyAt?: string;
  drill?: string;
  keep?: string;
  off?: boolean;
}): Promise<void> {
  await asCliError(async () => {
    if (!isDataDirectory(options.data))
      throw new CliError(
        `${resolve(options.data)} is not a ChartVault data directory; pass --data with the store.`,
      );
    const current = readBackupSchedule(options.data);
    const changing =
      options.to || options.every || options.verifyAt || options.drill || options.keep || options.off;
    if (changing) {
      const schedule: BackupSchedule = { ...DEFAULT_SCHEDULE, targets: [], ...current };
      if (options.off) schedule.targets = [];
      if (options.to) {
        for (const spec of options.to) openTarget(spec, options.data); // refuses what it cannot reach
        schedule.targets = options.to;
      }
      if (options.every) {
        const minutes = Number(options.every);
        if (!Number.isInteger(minutes) || minutes < 1 || minutes > 1440)
          throw new CliError(`--every takes whole minutes from 1 to 1440, not "${options.every}".`);
        schedule.everyMinutes = minutes;
      }
      if (options.verifyAt) {
        if (!isClock(options.verifyAt))
          throw new CliError(`--verify-at takes a local time HH:MM, not "${options.verifyAt}".`);
        schedule.verifyAt = options.verifyAt;
      }
      if (options.drill) {
        const [day = '', time = ''] = options.drill.toLowerCase().split(/\s+/);
        const weekday = DAYS.findIndex((d) => d.startsWith(day) && day.length >= 3);
        if (weekday < 0 || !isClock(time))
          throw new CliError(
            `--drill takes a day and a local time, e.g. "sunday 03:30", not "${options.drill}".`,
          );
        schedule.drillWeekday = weekday;
        schedule.drillAt = time;
      }
      if (options.keep) schedule.keep = parseRetention(options.keep);
      writeBackupSchedule(options.data, schedule);
    }
    const schedule = readBackupSchedule(options.data);
    if (!schedule || schedule.targets.length === 0) {
      console.log(
        'No backup schedule: serve takes no backups. Set one with --to TARGET (repeat for each target).',
      );
      return;
    }
    console.log(`serve backs up every ${schedule.everyMinutes} minute(s) to:`);
    for (const target of schedule.targets) console.log(`  ${target}`);
    console.log(
      `It verifies every target each night at ${schedule.verifyAt} and rehearses a restore from the first one ` +
        `every ${DAYS[schedule.drillWeekday]} at ${schedule.drillAt} (practice time). Changes apply without a restart.`,
    );
    console.log(
      `Before verifying, it applies the retention (${describeRetention(schedule.keep)}) to the targets that allow deletion; a receiver prunes on its own machine.`,
    );
  });
}
