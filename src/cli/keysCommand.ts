/**
 * `chartvault keys ...`: rotation of the store's keys, one command each. The audit signing key's
 * rotation belongs to the audit module and is registered beside these in main.ts.
 */
import { resolve } from 'node:path';
import {
  createSelfSignedTls,
  installTlsCredentials,
  loadTlsCredentials,
  readGivenPair,
  tlsFiles,
  TlsError,
  type TlsCredentials,
} from '../http/tls.ts';
import { commandLineAgent } from '../audit/index.ts';
import { openStore, readSettings, type AuditEntryDraft } from '../store/index.ts';
import { CliError } from './main.ts';
import { rotateStoreKey } from './storeKeyRotation.ts';
import { openCommandAuditTrail } from './commandAuditTrail.ts';

export interface RotateTlsOptions {
  data: string;
  keyDir: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** A new self-signed certificate, or the given pair; serve uses it from its next start. */
export async function rotateTlsCommand(options: RotateTlsOptions): Promise<void> {
  const given = givenTlsPair(options);
  const { storeId } = readSettings(options.data);
  const files = tlsFiles(options.data, options.keyDir, storeId);
  const previous = tlsOrUndefined(() => loadTlsCredentials(files));
  const installed = given
    ? tlsOrThrow(() => installTlsCredentials(files, given))
    : await createSelfSignedTls(files);
  console.log(
    `Installed a new ${installed.selfSigned ? 'self-signed ' : ''}TLS certificate in ${files.certFile} ` +
      `(key in ${files.keyFile}), valid until ${installed.validTo.toISOString().slice(0, 10)}.`,
  );
  console.log(`SHA-256 fingerprint: ${installed.fingerprint}`);
  if (previous) console.log(`Previous fingerprint: ${previous.fingerprint}`);
  console.log('Restart chartvault serve to use it.');
  await auditKeyRotation(
    options,
    keyRotationEntry('tls-certificate', 'success', {
      fingerprint: installed.fingerprint,
      previous: previous?.fingerprint ?? 'none',
      source: given ? 'given' : 'self-signed',
    }),
  );
}

/** init and demo: the new store's TLS pair, the given one or a new self-signed one, and what to tell. */
export async function setUpStoreTls(
  dataDir: string,
  keyDir: string,
  storeId: string,
  given?: TlsCredentials,
): Promise<TlsCredentials> {
  const files = tlsFiles(dataDir, keyDir, storeId);
  const installed = given
    ? tlsOrThrow(() => installTlsCredentials(files, given))
    : await createSelfSignedTls(files);
  console.log(
    `The ${given ? 'given' : 'self-signed'} TLS certificate is in ${files.certFile} (${installed.subjectAltName}); ` +
      `its private key is in ${files.keyFile}.`,
  );
  console.log(`TLS certificate SHA-256 fingerprint: ${installed.fingerprint}`);
  return installed;
}

/** `--tls-cert` and `--tls-key` together (read and checked), or neither. */
export function givenTlsPair(options: { tlsCert?: string; tlsKey?: string }): TlsCredentials | undefined {
  if (!options.tlsCert && !options.tlsKey) return undefined;
  if (!options.tlsCert || !options.tlsKey)
    throw new CliError('Pass --tls-cert and --tls-key together: the certificate and its private key.');
  return tlsOrThrow(() => readGivenPair(options.tlsCert!, options.tlsKey!));
}

/** Re-encrypts the database under a new data key (see storeKeyRotation.ts for the crash-safe order). */
export async function rotateStoreCommand(options: { data: string; keyDir: string }): Promise<void> {
  const log = (line: string) => console.log(line);
  let rotation: ReturnType<typeof rotateStoreKey>;
  try {
    rotation = rotateStoreKey(options.data, options.keyDir, log);
  } catch (error) {
    // A refusal (the store in use) or a failure is recorded too, when the store can be opened at all.
    await auditKeyRotation(
      options,
      keyRotationEntry('data-key', 'failure', { error: (error as Error).message.slice(0, 300) }),
    ).catch(() => undefined);
    throw error;
  }
  console.log(
    `Re-encrypted the store in ${resolve(options.data)} under a new data key in ${rotation.keyFile} (${rotation.seconds.toFixed(1)} s).`,
  );
  if (rotation.downtimeRewrapped) console.log('The downtime key is now wrapped under the new data key.');
  console.log(
    'The old key no longer opens the store: replace every copy of it you keep elsewhere with the new key file. ' +
      'Backups are unaffected (they have their own key, in the recovery kit).',
  );
  await auditKeyRotation(
    options,
    keyRotationEntry('data-key', 'success', { milliseconds: Math.round(rotation.seconds * 1000) }),
  );
}

/** The audit entry of a key rotation (action `key-rotate`), attributed to the operating-system user. */
export function keyRotationEntry(
  key: 'tls-certificate' | 'data-key' | 'backup-key',
  outcome: 'success' | 'failure',
  detail: Record<string, string | number>,
): AuditEntryDraft {
  return { agent: commandLineAgent(), action: 'key-rotate', resource: { type: key }, outcome, detail };
}

/** Appends a rotation's entry to the store's audit chain and signs a checkpoint covering it. */
export async function auditKeyRotation(
  options: { data: string; keyDir: string },
  entry: AuditEntryDraft,
): Promise<void> {
  const { store, settings } = openStore(options.data, options.keyDir);
  try {
    await store.appendAudit(entry).catch((error: Error) => {
      throw new CliError(`The rotation is done, but its audit entry could not be written: ${error.message}`);
    });
    const trail = await openCommandAuditTrail(store, settings, options);
    await trail.close();
  } finally {
    await store.close();
  }
}

function tlsOrThrow<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof TlsError) throw new CliError(error.message);
    throw error;
  }
}

/** The pair being replaced may be broken (that is often why it is replaced): then there is none to show. */
function tlsOrUndefined(run: () => TlsCredentials | undefined): TlsCredentials | undefined {
  try {
    return run();
  } catch (error) {
    if (error instanceof TlsError) return undefined;
    throw error;
  }
}
