/**
 * The practice's downtime settings, kept in the data directory as `downtime.json`: where copies go,
 * what they hold, when they are made, and the downtime key wrapped under the store's data key (so
 * scheduled exports need nobody to type the passphrase). Holds no patient data.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface DowntimeSettings {
  format: 1;
  /** The downtime key, wrapped (see downtimeCrypto.wrapKey). */
  wrappedKey: string;
  keyId: string;
  keySetAt: string;
  /** Folders on downtime machines or removable disks that receive copies. */
  locations: string[];
  /** Clinic days per file, today included. */
  days: number;
  census: boolean;
  includeRestricted: boolean;
  staleAfterHours: number;
  maxFileMegabytes: number;
  /** Hourly exports from `start` to `end` (local hours, end exclusive), and one at `nightHour`. */
  clinicHours: { start: number; end: number };
  nightHour: number;
}

export const DEFAULT_SETTINGS = {
  days: 3,
  census: false,
  includeRestricted: false,
  /** Exports run hourly in clinic hours and at night, so a copy older than this means exports stopped. */
  staleAfterHours: 8,
  maxFileMegabytes: 25,
  clinicHours: { start: 7, end: 19 },
  nightHour: 2,
};

const FILE = 'downtime.json';

export function downtimeSettingsPath(dataDir: string): string {
  return join(resolve(dataDir), FILE);
}

export function readDowntimeSettings(dataDir: string): DowntimeSettings | undefined {
  const path = downtimeSettingsPath(dataDir);
  if (!existsSync(path)) return undefined;
  const settings = JSON.parse(readFileSync(path, 'utf8')) as DowntimeSettings;
  if (settings.format !== 1)
    throw new Error(`${path} is not a downtime settings file this version understands.`);
  return settings;
}

/** Replaces the settings file atomically (temporary file, fsync, rename), readable by the owner only. */
export function writeDowntimeSettings(dataDir: string, settings: DowntimeSettings): void {
  const path = downtimeSettingsPath(dataDir);
  const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    writeSync(fd, JSON.stringify(settings, null, 2) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}
