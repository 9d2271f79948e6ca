/** `chartvault downtime setup|export|status`: the offline, encrypted downtime copy. */
import { hostname, userInfo } from 'node:os';
import { resolve } from 'node:path';
import {
  DEFAULT_SETTINGS,
  deriveDowntimeKey,
  DowntimeExportError,
  exportDowntime,
  keyId,
  listCopies,
  nextExportTime,
  PassphraseError,
  readDowntimeSettings,
  readPassphraseFile,
  unwrapKey,
  wrapKey,
  writeDowntimeSettings,
  type DowntimeKey,
  type DowntimeSettings,
  type ExportReport,
} from '../downtime/index.ts';
import { openStore } from '../store/index.ts';
import { readSettings } from '../store/dataDirectory.ts';
import { loadDataKey } from '../store/keyStore.ts';
import { CliError } from './main.ts';

interface CommonOptions {
  data: string;
  keyDir: string;
}

export interface SetupOptions extends CommonOptions {
  passphraseFile?: string;
  location?: string[];
  days?: string;
  census?: boolean;
  includeRestricted?: boolean;
  staleAfterHours?: string;
  clinicHours?: string;
  nightHour?: string;
  maxSizeMb?: string;
}

export interface ExportOptions extends CommonOptions {
  out?: string;
  passphraseFile?: string;
  days?: string;
  census?: boolean;
  includeRestricted?: boolean;
  maxSizeMb?: string;
}

/** The OS user running the command: the watermark and the audit trail name them. */
export const commandLineUser = () => `${userInfo().username}@${hostname()} (command line)`;

export async function downtimeSetupCommand(options: SetupOptions): Promise<void> {
  const storeSettings = readSettings(options.data);
  const previous = readDowntimeSettings(options.data);
  if (!previous && !options.passphraseFile)
    throw new CliError('The first setup needs --passphrase-file FILE holding the downtime passphrase.');
  const dataKey = loadDataKey(options.keyDir, storeSettings.storeId).key;
  const current = previous ? storedKey(dataKey, storeSettings.storeId, previous) : undefined;
  let key = options.passphraseFile ? passphraseKey(options.passphraseFile, current) : undefined;
  // The same passphrase again keeps the key (and the copies it opens); only a new one replaces them.
  if (key && current && keyId(key) === keyId(current)) key = undefined;
  const clinicHours = options.clinicHours ? parseHours(options.clinicHours) : undefined;
  const settings: DowntimeSettings = {
    format: 1,
    wrappedKey: key ? wrapKey(dataKey, storeSettings.storeId, key) : previous!.wrappedKey,
    keyId: key ? keyId(key) : previous!.keyId,
    keySetAt: key ? new Date().toISOString() : previous!.keySetAt,
    locations: options.location?.map((l) => resolve(l)) ?? previous?.locations ?? [],
    ...contentChoices(options, previous),
    staleAfterHours: options.staleAfterHours
      ? wholeNumber(options.staleAfterHours, '--stale-after-hours', 1, 24 * 14)
      : (previous?.staleAfterHours ?? DEFAULT_SETTINGS.staleAfterHours),
    clinicHours: clinicHours ?? previous?.clinicHours ?? DEFAULT_SETTINGS.clinicHours,
    nightHour: options.nightHour
      ? wholeNumber(options.nightHour, '--night-hour', 0, 23)
      : (previous?.nightHour ?? DEFAULT_SETTINGS.nightHour),
  };
  writeDowntimeSettings(options.data, settings);
  if (key && previous && previous.keyId !== settings.keyId)
    console.log(
      'New downtime passphrase set: the next export replaces every copy at the downtime locations.',
    );
  printSettings(settings, storeSettings.timeZone);
}

export async function downtimeExportCommand(options: ExportOptions): Promise<void> {
  const storeSettings = readSettings(options.data);
  const settings = readDowntimeSettings(options.data);
  const current = settings
    ? storedKey(loadDataKey(options.keyDir, storeSettings.storeId).key, storeSettings.storeId, settings)
    : undefined;
  let key = current;
  if (options.passphraseFile) key = passphraseKey(options.passphraseFile, current);
  if (!key)
    throw new CliError(
      'No downtime passphrase: pass --passphrase-file FILE, or run "chartvault downtime setup" once to keep one for scheduled exports.',
    );
  if (!options.out && current && keyId(key) !== keyId(current))
    // Copies at the locations made with another key would be removed as an old passphrase's.
    throw new CliError(
      'This is not the passphrase set up for the downtime locations; pass --out FILE for a one-off copy, or change the passphrase with "chartvault downtime setup --passphrase-file FILE".',
    );
  if (!options.out && !settings?.locations.length)
    throw new CliError(
      'Nowhere to write: pass --out FILE, or add downtime locations with "chartvault downtime setup --location DIR".',
    );
  const choices = contentChoices(options, settings);
  const { store } = openStore(options.data, options.keyDir);
  try {
    const report = await exportDowntime({
      store,
      timeZone: storeSettings.timeZone,
      key,
      out: options.out,
      locations: settings?.locations,
      days: choices.days,
      census: choices.census,
      includeRestricted: choices.includeRestricted,
      staleAfterHours: settings?.staleAfterHours ?? DEFAULT_SETTINGS.staleAfterHours,
      maxFileBytes: choices.maxFileMegabytes * 1024 * 1024,
      exportedBy: commandLineUser(),
    });
    printReport(report);
    if (report.file === undefined && report.locations.every((l) => l.error))
      throw new CliError('No downtime location could be written; see the reasons above.');
    if (report.locations.some((l) => l.error)) process.exitCode = 3;
  } catch (error) {
    if (error instanceof DowntimeExportError) throw new CliError(error.message);
    throw error;
  } finally {
    await store.close();
  }
}

export async function downtimeStatusCommand(options: CommonOptions): Promise<void> {
  const storeSettings = readSettings(options.data);
  const settings = readDowntimeSettings(options.data);
  if (!settings) {
    console.log(
      'Downtime copies are not set up. Run: chartvault downtime setup --data DIR --passphrase-file FILE --location DIR',
    );
    return;
  }
  printSettings(settings, storeSettings.timeZone);
  for (const location of settings.locations) {
    let copies;
    try {
      copies = listCopies(location);
    } catch {
      console.log(`  ${location}: not reachable (not mounted, or no access)`);
      continue;
    }
    const current = copies.filter((c) => c.keyId === settings.keyId);
    const newest = current[0];
    const age = newest
      ? `${((Date.now() - Date.parse(newest.madeAt)) / 3_600_000).toFixed(1)} h old`
      : 'no copy yet';
    const stale = copies.length - current.length;
    console.log(
      `  ${location}: ${current.length} current cop${current.length === 1 ? 'y' : 'ies'}, newest ${age}` +
        (stale ? `; ${stale} made with an old passphrase (removed at the next export)` : ''),
    );
  }
}

/** The key kept for scheduled exports. */
function storedKey(dataKey: Buffer, storeId: string, settings: DowntimeSettings): DowntimeKey {
  try {
    return unwrapKey(dataKey, storeId, settings.wrappedKey);
  } catch {
    throw new CliError(
      'The downtime key in downtime.json cannot be opened with this store\'s data key; set the passphrase again with "chartvault downtime setup --passphrase-file FILE".',
    );
  }
}

/** The key a passphrase file gives, with the set-up salt when there is one (so the same passphrase gives the same key). */
function passphraseKey(file: string, current: DowntimeKey | undefined): DowntimeKey {
  return deriveDowntimeKey(passphrase(file), current?.salt, current?.iterations);
}

function passphrase(file: string): string {
  try {
    return readPassphraseFile(file);
  } catch (error) {
    if (error instanceof PassphraseError) throw new CliError(error.message);
    throw error;
  }
}

function printReport(report: ExportReport): void {
  const size = `${(report.bytes / 1024 / 1024).toFixed(2)} MB`;
  console.log(
    `Downtime copy of ${report.days.length} clinic day(s) (${report.days.join(', ')}): ${report.appointments} appointments, ` +
      `${report.patients} charts, ${size}, in ${report.seconds.toFixed(1)} s; data as of ${report.asOf}.`,
  );
  if (report.restrictedLeftOut)
    console.log(
      `${report.restrictedLeftOut} restricted chart(s) left out (opt in with --include-restricted).`,
    );
  if (report.censusLeftOut)
    console.log(`${report.censusLeftOut} census chart(s) left out to stay within the size limit.`);
  if (report.overLimit)
    console.log('The scheduled charts alone are larger than --max-size-mb; the copy holds them all anyway.');
  if (report.file) console.log(`Written to ${resolve(report.file)}`);
  for (const l of report.locations) {
    if (l.error) console.error(`  FAILED ${l.location}: ${l.error}`);
    else
      console.log(
        `  ${l.file}${l.removed.length ? ` (removed ${l.removed.length} older cop${l.removed.length === 1 ? 'y' : 'ies'})` : ''}`,
      );
  }
}

function printSettings(s: DowntimeSettings, timeZone: string): void {
  console.log(
    `Downtime copies: ${s.days} clinic day(s)${s.census ? ', every active patient (census)' : ''}${s.includeRestricted ? ', restricted charts included' : ''}.`,
  );
  console.log(
    `Passphrase set ${s.keySetAt} (key ${s.keyId}). Copies warn when older than ${s.staleAfterHours} h.`,
  );
  console.log(
    `serve exports hourly ${s.clinicHours.start}:00-${s.clinicHours.end}:00 and at ${s.nightHour}:00 (${timeZone}); next at ${nextExportTime(new Date(), s, timeZone).toISOString()}.`,
  );
  console.log(
    s.locations.length
      ? `Locations:\n${s.locations.map((l) => `  ${l}`).join('\n')}`
      : 'No downtime locations yet (add with --location DIR).',
  );
}

/** What a copy holds, as setup and export both take it: the option given, else the kept setting, else the default. */
function contentChoices(
  options: { days?: string; census?: boolean; includeRestricted?: boolean; maxSizeMb?: string },
  kept: DowntimeSettings | undefined,
): Pick<DowntimeSettings, 'days' | 'census' | 'includeRestricted' | 'maxFileMegabytes'> {
  return {
    days: options.days ? wholeNumber(options.days, '--days', 1, 14) : (kept?.days ?? DEFAULT_SETTINGS.days),
    census: options.census ?? kept?.census ?? DEFAULT_SETTINGS.census,
    includeRestricted:
      options.includeRestricted ?? kept?.includeRestricted ?? DEFAULT_SETTINGS.includeRestricted,
    maxFileMegabytes: options.maxSizeMb
      ? wholeNumber(options.maxSizeMb, '--max-size-mb', 1, 2000)
      : (kept?.maxFileMegabytes ?? DEFAULT_SETTINGS.maxFileMegabytes),
  };
}

function wholeNumber(text: string, option: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max)
    throw new CliError(`${option} must be a whole number from ${min} to ${max}, not "${text}".`);
  return n;
}

function parseHours(text: string): { start: number; end: number } {
  const m = /^(\d{1,2})-(\d{1,2})$/.exec(text);
  if (!m || Number(m[1]) >= Number(m[2]) || Number(m[2]) > 24)
    throw new CliError(`--clinic-hours takes START-END in whole hours, for example 7-19, not "${text}".`);
  return { start: Number(m[1]), end: Number(m[2]) };
}
