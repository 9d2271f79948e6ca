/** `chartvault demo`: a demo practice with today's schedule, in a new or existing store, then serve it. */
import { existsSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { generateDemoPractice } from '../demo/index.ts';
import { localDateTime } from '../downtime/clinicCalendar.ts';
import {
  initStore,
  isDataDirectory,
  loadBackupKey,
  machineTimeZone,
  openStore,
  type BatchWrite,
} from '../store/index.ts';
import { defaultKitPath, writeKitFile } from './kitCommand.ts';
import { backupKeyFilePath, keyFilePath, tlsKeyFilePath } from '../store/keyStore.ts';
import { tlsFiles, type TlsCredentials } from '../http/tls.ts';
import { setUpStoreTls } from './keysCommand.ts';
import { readSettings } from '../store/dataDirectory.ts';
import { checkListenOptions, serveStore, storeTls } from './serveCommand.ts';
import { checkTimeZone } from './timeZone.ts';
import { demoCredentialsText, makeDemoCredentials } from './demoAccounts.ts';
import { CliError } from './main.ts';

export interface DemoOptions {
  data: string;
  keyDir: string;
  reset?: boolean;
  serve: boolean;
  patients: string;
  timeZone?: string;
  host: string;
  port: string;
}

const WRITES_PER_TRANSACTION = 5000;

export async function demoCommand(options: DemoOptions): Promise<void> {
  const patients = Number(options.patients);
  if (!Number.isInteger(patients) || patients < 1)
    throw new CliError('--patients must be a positive whole number.');
  if (options.serve) checkListenOptions(options);
  if (options.reset && isDataDirectory(options.data)) {
    const { storeId } = readSettings(options.data);
    rmSync(options.data, { recursive: true, force: true });
    const keyFiles = [
      keyFilePath(options.keyDir, storeId),
      backupKeyFilePath(options.keyDir, storeId),
      tlsKeyFilePath(options.keyDir, storeId),
    ];
    for (const keyFile of [...keyFiles, defaultKitPath(options.keyDir, storeId)])
      if (existsSync(keyFile)) rmSync(keyFile);
    console.log(`Removed the demo store in ${resolve(options.data)} and its keys.`);
  }
  const isNew = !isDataDirectory(options.data);
  const opened = isNew
    ? initStore(options.data, options.keyDir, checkTimeZone(options.timeZone ?? machineTimeZone()))
    : openStore(options.data, options.keyDir);
  if (isNew) {
    // Like init: a new store comes with its recovery kit, in the documented place.
    const { storeId } = opened.settings;
    const kit = await writeKitFile(
      defaultKitPath(options.keyDir, storeId),
      storeId,
      loadBackupKey(options.keyDir, storeId).key,
    );
    console.log(`The recovery kit (backup key and restore steps) is in ${kit}.`);
    await setUpStoreTls(options.data, options.keyDir, storeId);
  }
  const { store, settings } = opened;
  const timeZone = checkTimeZone(options.timeZone ?? settings.timeZone);
  const started = performance.now();
  const resources = generateDemoPractice({
    today: todayIn(timeZone),
    asOfTime: timeNowIn(timeZone),
    timeZone,
    patients,
  });
  const writes: BatchWrite[] = resources.map((resource) => ({ kind: 'put', resource }));
  let created = 0;
  for (let i = 0; i < writes.length; i += WRITES_PER_TRANSACTION) {
    const outcomes = await store.writeBatch(writes.slice(i, i + WRITES_PER_TRANSACTION));
    created += outcomes.filter((o) => o !== 'unchanged').length;
  }
  await store.optimize(); // fresh statistics, so searches on the new data pick good plans
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `Demo practice in ${resolve(options.data)}: ${resources.length} resources (${created} new or changed) in ${seconds.toFixed(1)} s, ` +
      `time zone ${timeZone}.`,
  );
  const credentials = await makeDemoCredentials(store);
  const certFile = tlsFiles(options.data, options.keyDir, settings.storeId).certFile;
  if (!options.serve) {
    await store.close();
    console.log(demoCredentialsText(credentials, 'https://HOST:PORT', certFile));
    console.log('Serve it with chartvault serve; HOST:PORT is the address it prints.');
    return;
  }
  let tls: TlsCredentials;
  try {
    tls = await storeTls(options.data, options.keyDir, settings.storeId, (line) => console.log(line));
  } catch (error) {
    await store.close();
    throw error;
  }
  const address = await serveStore(
    store,
    { ...options, tls },
    { dataDir: options.data, keyDir: options.keyDir, settings },
  );
  console.log(demoCredentialsText(credentials, address, certFile));
  if (tls.selfSigned) {
    console.log(
      'The certificate is self-signed, so your browser will warn before opening the address above ' +
        '(compare the fingerprint to be sure it is this server). Passkeys need a trusted certificate on a host name: see docs/operations.md.',
    );
  }
}

/** Today's calendar date in a time zone, as YYYY-MM-DD. */
export const todayIn = (timeZone: string) => localDateTime(new Date(), timeZone).date;

/** The time of day in a time zone, as HH:MM: today's earlier appointments show as seen. */
export const timeNowIn = (timeZone: string) => localDateTime(new Date(), timeZone).time;
