/**
 * The practice side of a pairing: which receivers this store is paired with, kept in the data
 * directory (`backup-receivers.json`: addresses, the receivers' certificate fingerprints, this store's
 * public client certificate; no secret), and the client's private key in the key folder (0600).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readSettings } from '../../store/index.ts';
import { readPrivateFile, writePrivateFile } from '../../store/keyStore.ts';
import { BackupError } from '../backupError.ts';
import { makeClientCertificate } from './clientCertificate.ts';
import { displayFingerprint, fingerprintOfPem, normalizeFingerprint } from './fingerprint.ts';
import {
  parseReceiverUrl,
  ReceiverClient,
  receiverMessage,
  type ReceiverConnection,
} from './receiverClient.ts';

const PAIRINGS_FILE = 'backup-receivers.json';

export interface ReceiverPairing {
  /** How commands name it: `--to NAME` (default `receiver`). */
  name: string;
  /** https://HOST:PORT */
  url: string;
  /** The receiver certificate's fingerprint (hex), pinned. */
  fingerprint: string;
  /** This practice's id on the receiver (random, chosen by the receiver). */
  practice: string;
  clientCertificate: string;
  /** Where the client key is (absolute). */
  keyFile: string;
  pairedAt: string;
}

export function readPairings(dataDir: string): ReceiverPairing[] {
  const file = join(resolve(dataDir), PAIRINGS_FILE);
  if (!existsSync(file)) return [];
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as { receivers?: ReceiverPairing[] };
  return Array.isArray(parsed.receivers) ? parsed.receivers : [];
}

function savePairings(dataDir: string, receivers: ReceiverPairing[]): void {
  const file = join(resolve(dataDir), PAIRINGS_FILE);
  const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temporary, JSON.stringify({ receivers }, null, 2) + '\n', { mode: 0o600 });
  renameSync(temporary, file);
}

export const originOf = (url: string) => parseReceiverUrl(url).origin;

/** The pairing that `spec` names: a receiver's name (`receiver` by default) or its https address. */
export function findPairing(dataDir: string, spec: string): ReceiverPairing | undefined {
  const pairings = readPairings(dataDir);
  if (/^https:\/\//i.test(spec)) {
    const origin = originOf(spec);
    return pairings.find((p) => originOf(p.url) === origin);
  }
  return pairings.find((p) => p.name === spec);
}

export function connectionOf(pairing: ReceiverPairing): ReceiverConnection {
  if (!existsSync(pairing.keyFile))
    throw new BackupError(
      `The client key for receiver ${pairing.url} (${pairing.keyFile}) is missing; pair again with chartvault backup pair.`,
    );
  return {
    url: pairing.url,
    fingerprint: pairing.fingerprint,
    cert: pairing.clientCertificate,
    key: readPrivateFile(pairing.keyFile, 'receiver client key'),
  };
}

export interface PairInput {
  dataDir: string;
  keyDir: string;
  url: string;
  code: string;
  fingerprint: string;
  name?: string;
}

/**
 * Pairs this store with a receiver: a new client key and certificate, then the code sent over TLS to
 * the receiver whose certificate has the fingerprint the operator read on the receiver's screen.
 */
export async function pairWithReceiver(input: PairInput): Promise<ReceiverPairing> {
  const fingerprint = normalizeFingerprint(input.fingerprint);
  if (!fingerprint)
    throw new BackupError(
      `${input.fingerprint} is not a SHA-256 fingerprint (64 hex characters, colons allowed); copy it from chartvault receiver pair.`,
    );
  const url = parseReceiverUrl(input.url).origin;
  const name = input.name ?? 'receiver';
  if (!/^[a-z][a-z0-9-]{0,39}$/.test(name))
    throw new BackupError(`${name}: a receiver name is lowercase letters, digits and dashes.`);
  const { storeId } = readSettings(input.dataDir);
  const { cert, key } = await makeClientCertificate();
  const keyFile = join(
    resolve(input.keyDir),
    `${storeId}.receiver-${fingerprintOfPem(cert).slice(0, 16)}.key`,
  );
  writePrivateFile(keyFile, key);
  const client = new ReceiverClient({ url, fingerprint, cert, key });
  try {
    const response = await client.request({
      method: 'POST',
      path: '/v1/pair',
      body: Buffer.from(JSON.stringify({ code: input.code })),
      headers: { 'content-type': 'application/json' },
      attempts: 1,
    });
    if (response.status !== 201)
      throw new BackupError(`The receiver ${url} refused the pairing: ${receiverMessage(response)}`);
    const { practice } = JSON.parse(response.body.toString()) as { practice: string };
    const pairing: ReceiverPairing = {
      name,
      url,
      fingerprint,
      practice,
      clientCertificate: cert,
      keyFile,
      pairedAt: new Date().toISOString(),
    };
    savePairings(input.dataDir, [
      ...readPairings(input.dataDir).filter((p) => p.name !== name && originOf(p.url) !== url),
      pairing,
    ]);
    return pairing;
  } catch (error) {
    rmSync(keyFile, { force: true });
    throw error;
  } finally {
    client.close();
  }
}

export { displayFingerprint };
