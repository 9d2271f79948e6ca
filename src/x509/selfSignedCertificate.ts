/**
 * Self-signed X.509 certificates: ECDSA P-256 keys from WebCrypto, the X.509 structure from
 * @peculiar/x509 (node:crypto reads certificates but cannot write them). A leaf below every layer, so
 * the HTTPS and receiver server certificates (serverCertificate.ts) and the backup client certificate
 * (src/backup/receiver) are made here without one layer importing another. Loaded only when a
 * certificate is made.
 */
import { createPrivateKey, randomBytes, webcrypto } from 'node:crypto';

type X509 = typeof import('@peculiar/x509');
type CertificateExtension = InstanceType<X509['Extension']>;

/** Backdated a little, so a peer whose clock is a few minutes behind does not see "not yet valid". */
const BACKDATE_MS = 5 * 60 * 1000;

/** @peculiar/x509 resolves its parsers through tsyringe, which needs this polyfill loaded first. */
async function loadX509(): Promise<X509> {
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  return x509;
}

export interface SelfSignedCertificateRequest {
  /** The subject (and issuer) distinguished name, e.g. "CN=localhost". */
  subject: string;
  validDays: number;
  /** What the certificate is for: 'serverAuth' or 'clientAuth'. */
  extendedKeyUsage: 'serverAuth' | 'clientAuth';
  /** Extensions beyond basic constraints and key usage, built from the loaded library. */
  moreExtensions?: (x509: X509) => CertificateExtension[];
  now?: Date;
}

/** A new key pair and a certificate for it, both PEM; the key is PKCS#8. */
export async function buildSelfSignedCertificate(
  request: SelfSignedCertificateRequest,
): Promise<{ cert: string; key: string }> {
  const now = request.now ?? new Date();
  const x509 = await loadX509();
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  // A positive serial number of 128 random bits (RFC 5280 allows up to 20 octets).
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString('hex'),
    name: request.subject,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + request.validDays * 24 * 60 * 60 * 1000),
    keys: keys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'],
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage[request.extendedKeyUsage]]),
      ...(request.moreExtensions?.(x509) ?? []),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({
    format: 'pem',
    type: 'pkcs8',
  }) as string;
  return { cert: certificate.toString('pem') + '\n', key };
}
