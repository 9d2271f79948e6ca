/**
 * The backup schedule kept in the data directory (`backup-schedule.json`, no secrets): the targets that
 * `serve` backs up to, how often, and when it verifies them and rehearses a restore. `serve` reads it
 * at every tick, so a change applies without a restart.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BackupError } from './backupError.ts';
import { DEFAULT_RETENTION, parseRetention, type RetentionPolicy } from './retention.ts';

const SCHEDULE_FILE = 'backup-schedule.json';

export interface BackupSchedule {
  /** Target specs as `backup run --to` takes them. */
  targets: string[];
  /** A snapshot to every target this often (the recovery point objective). */
  everyMinutes: number;
  /** Nightly verification of every target, local time `HH:MM`. */
  verifyAt: string;
  /** Weekly restore drill from the first target: day (0 Sunday ... 6 Saturday) and local time. */
  drillWeekday: number;
  drillAt: string;
  /**
   * Retention, applied each night (before the verification) to the targets that allow deletion
   * (directories; S3 once locks run out). A receiver prunes on its own machine.
   */
  keep: RetentionPolicy;
}

export const DEFAULT_SCHEDULE: Omit<BackupSchedule, 'targets'> = {
  everyMinutes: 1,
  verifyAt: '02:30',
  drillWeekday: 0,
  drillAt: '03:30',
  keep: DEFAULT_RETENTION,
};

export function readBackupSchedule(dataDir: string): BackupSchedule | undefined {
  const file = join(resolve(dataDir), SCHEDULE_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  let parsed: Partial<BackupSchedule>;
  try {
    parsed = JSON.parse(text) as Partial<BackupSchedule>;
  } catch {
    throw new BackupError(
      `${file} is not valid JSON; set the schedule again with chartvault backup schedule.`,
    );
  }
  const schedule = { ...DEFAULT_SCHEDULE, ...parsed } as BackupSchedule;
  try {
    schedule.keep = parseRetention(
      Object.entries({ ...DEFAULT_RETENTION, ...schedule.keep })
        .map(([rule, count]) => `${rule}=${count}`)
        .join(','),
      file,
    );
  } catch (error) {
    throw new BackupError(`${(error as Error).message} Set it again with chartvault backup schedule --keep.`);
  }
  if (
    !Array.isArray(schedule.targets) ||
    !schedule.targets.every((t) => typeof t === 'string') ||
    !(schedule.everyMinutes > 0) ||
    !isClock(schedule.verifyAt) ||
    !isClock(schedule.drillAt) ||
    ![0, 1, 2, 3, 4, 5, 6].includes(schedule.drillWeekday)
  )
    throw new BackupError(
      `${file} does not hold a valid schedule; set it again with chartvault backup schedule.`,
    );
  return schedule;
}

export function writeBackupSchedule(dataDir: string, schedule: BackupSchedule): void {
  const file = join(resolve(dataDir), SCHEDULE_FILE);
  const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temporary, JSON.stringify(schedule, null, 2) + '\n', { mode: 0o600 });
  renameSync(temporary, file);
}

export function isClock(value: unknown): value is string {
  return typeof value === 'string' && /^([01]\d|2[0-3]):[0-5]\d$/.test(value);
}
