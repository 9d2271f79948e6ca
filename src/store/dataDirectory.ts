/**
 * The data directory: `chartvault.json` (store id and settings, no secrets) and the encrypted database.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { StoreError } from './storeError.ts';

export interface StoreSettings {
  format: 1;
  storeId: string;
  createdAt: string;
  /** IANA time zone of the practice: schedules, and search values without an offset, are read in it. */
  timeZone: string;
}

const SETTINGS_FILE = 'chartvault.json';
export const DATABASE_FILE = 'chartvault.db';

export const databasePath = (dataDir: string) => join(resolve(dataDir), DATABASE_FILE);

export function isDataDirectory(dataDir: string): boolean {
  return existsSync(join(dataDir, SETTINGS_FILE));
}

export function createDataDirectory(dataDir: string, timeZone: string): StoreSettings {
  if (isDataDirectory(dataDir)) throw new StoreError(`${resolve(dataDir)} already holds a ChartVault store.`);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const settings: StoreSettings = {
    format: 1,
    storeId: randomUUID(),
    createdAt: new Date().toISOString(),
    timeZone,
  };
  writeFileSync(join(dataDir, SETTINGS_FILE), JSON.stringify(settings, null, 2) + '\n', {
    mode: 0o600,
    flag: 'wx',
  });
  return settings;
}

/** The settings file's exact text, for backups (it holds no secrets and no patient data). */
export function readSettingsText(dataDir: string): string {
  readSettings(dataDir);
  return readFileSync(join(resolve(dataDir), SETTINGS_FILE), 'utf8');
}

/** A restore: a new data directory whose settings file is exactly the backed-up text. */
export function restoreDataDirectory(dataDir: string, settingsText: string): StoreSettings {
  if (isDataDirectory(dataDir)) throw new StoreError(`${resolve(dataDir)} already holds a ChartVault store.`);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dataDir, SETTINGS_FILE), settingsText, { mode: 0o600, flag: 'wx' });
  return readSettings(dataDir);
}

export function readSettings(dataDir: string): StoreSettings {
  const file = join(resolve(dataDir), SETTINGS_FILE);
  if (!existsSync(file)) {
    throw new StoreError(
      `${resolve(dataDir)} is not a ChartVault data directory (no ${SETTINGS_FILE}); run: chartvault init --data ${dataDir}`,
    );
  }
  let settings: StoreSettings;
  try {
    settings = JSON.parse(readFileSync(file, 'utf8')) as StoreSettings;
  } catch {
    throw new StoreError(`${file} is not valid JSON; restore it from a backup.`);
  }
  if (settings.format !== 1 || typeof settings.storeId !== 'string') {
    throw new StoreError(`${file} is not a settings file this version of ChartVault understands.`);
  }
  return settings;
}

export function machineTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}
