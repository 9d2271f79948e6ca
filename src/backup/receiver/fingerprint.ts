/** Certificate fingerprints: SHA-256 of the DER certificate, shown as colon-separated hex like browsers do. */
import { X509Certificate } from 'node:crypto';

/** `AB:CD:...` (or `abcd...`, or `SHA256:AB:...`) as 64 lowercase hex characters; undefined if it is not one. */
export function normalizeFingerprint(text: string): string | undefined {
  const hex = text
    .trim()
    .replace(/^sha-?256[:= ]?/i, '')
    .replace(/[:\s-]/g, '')
    .toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined;
}

/** 64 hex characters as `AB:CD:...`, the form printed on both sides of a pairing. */
export function displayFingerprint(hex: string): string {
  return hex.toUpperCase().match(/../g)!.join(':');
}

export function fingerprintOfPem(pem: string): string {
  return normalizeFingerprint(new X509Certificate(pem).fingerprint256)!;
}

/** The fingerprint of a DER certificate (what a TLS peer presents). */
export function fingerprintOfDer(der: Buffer): string {
  return normalizeFingerprint(new X509Certificate(der).fingerprint256)!;
}
