/**
 * The server's TLS certificate and private key. The key lives in the key folder beside the data key
 * (owner-only, refused when others can read it); the certificate, which is public, lives in the data
 * directory. `init` makes a self-signed pair unless one is given; `serve` makes one for a store that
 * has none; `keys rotate-tls` replaces it.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readPrivateFile, tlsKeyFilePath, writePrivateFile } from '../store/keyStore.ts';
import { makeSelfSignedCertificate } from '../x509/serverCertificate.ts';

/** A certificate or key problem the operator can fix; the CLI prints it as one line. */
export class TlsError extends Error {}

export const CERTIFICATE_FILE = 'tls-certificate.pem';
/** Serve warns this long before the certificate expires. */
const EXPIRY_WARNING_DAYS = 30;

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

export function tlsFiles(dataDir: string, keyDir: string, storeId: string): TlsFiles {
  return { certFile: join(resolve(dataDir), CERTIFICATE_FILE), keyFile: tlsKeyFilePath(keyDir, storeId) };
}

/** What the HTTPS server needs, and what the operator is told about it. */
export interface TlsCredentials {
  /** PEM; may hold the whole chain (server certificate first). */
  cert: string;
  key: string;
  /** SHA-256 of the server certificate (DER), as colon-separated hex, as browsers show it. */
  fingerprint: string;
  validTo: Date;
  selfSigned: boolean;
  subjectAltName: string;
}

/** Checks that the certificate parses, the key is an unencrypted private key, and they belong together. */
export function checkCertificatePair(cert: string, key: string, where: TlsFiles): TlsCredentials {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    throw new TlsError(`${where.certFile} is not a PEM certificate ("-----BEGIN CERTIFICATE-----").`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new TlsError(
      `${where.keyFile} is not an unencrypted PEM private key; export it without a passphrase (e.g. openssl pkey -in KEY -out KEY.pem).`,
    );
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new TlsError(
      `The private key ${where.keyFile} does not belong to the certificate ${where.certFile}; pass the matching pair.`,
    );
  }
  return {
    cert,
    key,
    fingerprint: certificate.fingerprint256,
    validTo: new Date(certificate.validTo),
    // Not checkIssued: OpenSSL's issuer check also wants keyCertSign, which a server certificate lacks.
    selfSigned: certificate.issuer === certificate.subject && certificate.verify(certificate.publicKey),
    subjectAltName: certificate.subjectAltName ?? '',
  };
}

/** Reads the store's certificate and key; undefined when the store has none yet. */
export function loadTlsCredentials(files: TlsFiles): TlsCredentials | undefined {
  const hasCert = existsSync(files.certFile);
  const hasKey = existsSync(files.keyFile);
  if (!hasCert && !hasKey) return undefined;
  if (!hasCert || !hasKey) {
    throw new TlsError(
      `Only half of the TLS pair is there (${hasCert ? 'no key at ' + files.keyFile : 'no certificate at ' + files.certFile}); ` +
        'run chartvault keys rotate-tls to make a new one, or pass --key-dir with the folder that holds the key.',
    );
  }
  try {
    return checkCertificatePair(
      readFileSync(files.certFile, 'utf8'),
      readPrivateFile(files.keyFile, 'TLS key file'),
      files,
    );
  } catch (error) {
    if (!(error instanceof TlsError)) throw error;
    throw new TlsError(`${error.message} To make a new self-signed pair: chartvault keys rotate-tls.`);
  }
}

/** Reads a pair the operator gives (`--tls-cert`, `--tls-key`), with one clear error per problem. */
export function readGivenPair(certFile: string, keyFile: string): TlsCredentials {
  const given = { certFile: resolve(certFile), keyFile: resolve(keyFile) };
  for (const file of [given.certFile, given.keyFile])
    if (!existsSync(file)) throw new TlsError(`${file} does not exist.`);
  return checkCertificatePair(
    readFileSync(given.certFile, 'utf8'),
    readFileSync(given.keyFile, 'utf8'),
    given,
  );
}

/**
 * Puts a pair in place, replacing any previous one: the key first (atomically, owner-only), then the
 * certificate (atomically). A crash between the two leaves a mismatched pair, which serve refuses
 * with a message naming `keys rotate-tls`; it never serves with a key it was not given.
 */
export function installTlsCredentials(files: TlsFiles, pair: TlsCredentials): TlsCredentials {
  writePrivateFile(files.keyFile, pair.key);
  const temporary = `${files.certFile}.tmp`;
  writeFileSync(temporary, pair.cert, { mode: 0o644 });
  renameSync(temporary, files.certFile);
  return pair;
}

/** A new self-signed pair for this machine, installed. */
export async function createSelfSignedTls(files: TlsFiles): Promise<TlsCredentials> {
  const { cert, key } = await makeSelfSignedCertificate();
  return installTlsCredentials(files, checkCertificatePair(cert, key, files));
}

/** Serve's view: the store's pair, made first if the store predates TLS. */
export async function ensureTlsCredentials(
  files: TlsFiles,
  log: (line: string) => void,
): Promise<TlsCredentials> {
  const existing = loadTlsCredentials(files);
  if (existing) return existing;
  const made = await createSelfSignedTls(files);
  log(
    `This store had no TLS certificate: made a self-signed one (${files.certFile}, key in ${files.keyFile}).`,
  );
  return made;
}

/** A line for the operator when the certificate has expired or soon will, otherwise undefined. */
export function expiryWarning(credentials: TlsCredentials, now = new Date()): string | undefined {
  const days = Math.floor((credentials.validTo.getTime() - now.getTime()) / (24 * 60 * 60 * 1000));
  if (days >= EXPIRY_WARNING_DAYS) return undefined;
  const when = days < 0 ? 'expired on' : 'expires on';
  return `Warning: the TLS certificate ${when} ${credentials.validTo.toISOString().slice(0, 10)}; run chartvault keys rotate-tls (see docs/operations.md).`;
}

/** Fastify's `https` option: TLS 1.2 at least (1.0 and 1.1 are deprecated, RFC 8996). */
export function httpsOptions(credentials: TlsCredentials) {
  return { cert: credentials.cert, key: credentials.key, minVersion: 'TLSv1.2' as const };
}
