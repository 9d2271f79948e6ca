/**
 * The self-signed TLS server certificate made at init (for chartvault serve, and for a backup
 * receiver), under the names the practice reaches this machine by; the X.509 library is loaded only
 * when a certificate is made, so serving an existing one costs nothing.
 */
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { buildSelfSignedCertificate } from './selfSignedCertificate.ts';

export const CERTIFICATE_DAYS = 365;

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
  return buildSelfSignedCertificate({
    subject: `CN=${names.dns.at(-1)}, O=ChartVault self-signed`,
    validDays: CERTIFICATE_DAYS,
    extendedKeyUsage: 'serverAuth',
    moreExtensions: (x509) => [
      new x509.SubjectAlternativeNameExtension([
        ...names.dns.map((value) => ({ type: 'dns' as const, value })),
        ...names.ips.map((value) => ({ type: 'ip' as const, value })),
      ]),
    ],
    now,
  });
}
