/**
 * The self-signed TLS certificate made at init: ECDSA P-256 keys from WebCrypto, the X.509 structure
 * from @peculiar/x509 (node:crypto reads certificates but cannot write them). Loaded only when a
 * certificate is made, so serving an existing one costs nothing.
 */
import { createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { hostname } from 'node:os';
import { isIP } from 'node:net';

/** @peculiar/x509 resolves its parsers through tsyringe, which needs this polyfill loaded first. */
async function loadX509() {
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  return x509;
}

export const CERTIFICATE_DAYS = 365;
/** Backdated a little, so a client whose clock is a few minutes behind does not see "not yet valid". */
const BACKDATE_MS = 5 * 60 * 1000;

export interface CertificateNames {
  dns: string[];
  ips: string[];
}

/** localhost, the loopback addresses and this machine's host name: what the practice can reach it by. */
export function defaultCertificateNames(hostName = hostname()): CertificateNames {
  const dns = ['localhost'];
  const name = hostName.trim().toLowerCase();
  if (name && name !== 'localhost' && isIP(name) === 0 && /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(name))
    dns.push(name);
  return { dns, ips: ['127.0.0.1', '::1'] };
}

/** A new key pair and a certificate for it, both PEM; the key is PKCS#8. */
export async function makeSelfSignedCertificate(
  names: CertificateNames = defaultCertificateNames(),
  now = new Date(),
): Promise<{ cert: string; key: string }> {
  const x509 = await loadX509();
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as CryptoKeyPair;
  // A positive serial number of 128 random bits (RFC 5280 allows up to 20 octets).
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString('hex'),
    name: `CN=${names.dns.at(-1)}, O=ChartVault self-signed`,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + CERTIFICATE_DAYS * 24 * 60 * 60 * 1000),
    keys: keys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'],
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...names.dns.map((value) => ({ type: 'dns' as const, value })),
        ...names.ips.map((value) => ({ type: 'ip' as const, value })),
      ]),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({
    format: 'pem',
    type: 'pkcs8',
  }) as string;
  return { cert: certificate.toString('pem') + '\n', key };
}

type CryptoKeyPair = webcrypto.CryptoKeyPair;
