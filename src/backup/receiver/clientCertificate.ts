/**
 * The practice server's client certificate for a receiver: a self-signed ECDSA P-256 certificate for
 * TLS client authentication (the server certificate made by src/x509/serverCertificate.ts is for
 * server authentication only). The receiver trusts it by its fingerprint, recorded at pairing, not by
 * any CA, so its subject carries nothing but a label.
 */
import { buildSelfSignedCertificate } from '../../x509/selfSignedCertificate.ts';

const CLIENT_CERTIFICATE_DAYS = 10 * 365;

export async function makeClientCertificate(now = new Date()): Promise<{ cert: string; key: string }> {
  return buildSelfSignedCertificate({
    subject: 'CN=ChartVault practice backup client',
    validDays: CLIENT_CERTIFICATE_DAYS,
    extendedKeyUsage: 'clientAuth',
    now,
  });
}
