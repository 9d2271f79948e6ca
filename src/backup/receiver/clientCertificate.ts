/**
 * The practice server's client certificate for a receiver: a self-signed ECDSA P-256 certificate for
 * TLS client authentication (the server certificate made by src/http/selfSignedCertificate.ts is for
 * server authentication only). The receiver trusts it by its fingerprint, recorded at pairing, not by
 * any CA, so its subject carries nothing but a label.
 */
import { createPrivateKey, randomBytes, webcrypto } from 'node:crypto';

const CLIENT_CERTIFICATE_DAYS = 10 * 365;
const BACKDATE_MS = 5 * 60 * 1000;

/** @peculiar/x509 resolves its parsers through tsyringe, which needs this polyfill loaded first. */
async function loadX509() {
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  return x509;
}

export async function makeClientCertificate(now = new Date()): Promise<{ cert: string; key: string }> {
  const x509 = await loadX509();
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString('hex'),
    name: 'CN=ChartVault practice backup client',
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + CLIENT_CERTIFICATE_DAYS * 24 * 60 * 60 * 1000),
    keys: keys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'],
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({
    format: 'pem',
    type: 'pkcs8',
  }) as string;
  return { cert: certificate.toString('pem') + '\n', key };
}
