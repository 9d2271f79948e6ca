/** `chartvault init`: a new encrypted store and its key. */
import { resolve } from 'node:path';
import { createAuditSigningKey } from '../audit/index.ts';
import { initStore, isDataDirectory, machineTimeZone } from '../store/index.ts';
import { loadBackupKey } from '../store/index.ts';
import { defaultKitPath, KIT_ADVICE, writeKitFile } from './kitCommand.ts';
import { givenTlsPair, setUpStoreTls } from './keysCommand.ts';
import { CliError } from './main.ts';
import { checkTimeZone } from './timeZone.ts';

export async function initCommand(options: {
  data: string;
  keyDir: string;
  timeZone?: string;
  kitOut?: string;
  tlsCert?: string;
  tlsKey?: string;
}): Promise<void> {
  if (isDataDirectory(options.data))
    throw new CliError(`${resolve(options.data)} already holds a ChartVault store; nothing was changed.`);
  const timeZone = checkTimeZone(options.timeZone ?? machineTimeZone());
  const givenTls = givenTlsPair(options); // checked before anything is created
  const { store, keyFile, settings, backupKeyFile } = initStore(options.data, options.keyDir, timeZone);
  await store.close();
  // The key that signs the audit chain's checkpoints (docs/audit-chain.md, section 4).
  const auditKey = createAuditSigningKey(options.keyDir, settings.storeId);
  const kit = await writeKitFile(
    options.kitOut ?? defaultKitPath(options.keyDir, settings.storeId),
    settings.storeId,
    loadBackupKey(options.keyDir, settings.storeId).key,
  );
  console.log(
    `Created an encrypted store in ${resolve(options.data)} (practice time zone ${settings.timeZone}).`,
  );
  console.log(`The data key is in ${keyFile} (readable only by you).`);
  console.log(
    'Keep a copy of that key somewhere safe and away from this machine: without it the data cannot be read.',
  );
  console.log(`The audit signing key is in ${auditKey.file}.`);
  console.log(`The backup key is in ${backupKeyFile}; the recovery kit is in ${kit}.`);
  console.log(KIT_ADVICE);
  await setUpStoreTls(options.data, options.keyDir, settings.storeId, givenTls);
}
