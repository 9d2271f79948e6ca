/**
 * Time-based one-time passwords (RFC 6238) through `otpauth`: HMAC-SHA-1, 6 digits, 30-second steps,
 * the neighbouring step on either side accepted for clock drift. These are the settings every
 * authenticator app supports. A code is good once: the caller keeps the last accepted time step per
 * account and a code from that step or an earlier one is refused, so a code seen over a shoulder or
 * caught by a phishing page cannot be used again.
 */
import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import QRCode from 'qrcode';

export const TOTP_SETTINGS = { algorithm: 'SHA1', digits: 6, period: 30, window: 1 } as const;
export const ISSUER = 'ChartVault';

/** A new shared secret (160 bits, the size RFC 4226 recommends), as base32 for the authenticator. */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

function totpFor(secretBase32: string, accountName: string): TOTP {
  return new TOTP({
    issuer: ISSUER,
    label: accountName,
    secret: Secret.fromBase32(secretBase32),
    algorithm: TOTP_SETTINGS.algorithm,
    digits: TOTP_SETTINGS.digits,
    period: TOTP_SETTINGS.period,
  });
}

/** The otpauth:// URI an authenticator app reads from the QR code. */
export function enrolmentUri(secretBase32: string, accountName: string): string {
  return totpFor(secretBase32, accountName).toString();
}

/** The enrolment URI as a QR code: an SVG document, for a page or a terminal-free printout. */
export function enrolmentQrSvg(secretBase32: string, accountName: string): Promise<string> {
  return QRCode.toString(enrolmentUri(secretBase32, accountName), { type: 'svg', errorCorrectionLevel: 'M' });
}

/** The code an authenticator shows at `now` (for tests and the demo). */
export function currentCode(secretBase32: string, now = Date.now()): string {
  return totpFor(secretBase32, 'x').generate({ timestamp: now });
}

export type TotpCheck = { ok: true; step: number } | { ok: false; reason: 'wrong' | 'replayed' };

/**
 * Checks `code` at `now`. `lastUsedStep` is the time step of the last accepted code for this account;
 * on success the caller stores the returned step in its place.
 */
export function verifyTotp(
  secretBase32: string,
  code: string,
  lastUsedStep: number | undefined,
  now = Date.now(),
): TotpCheck {
  const token = code.replace(/\s+/g, '');
  if (!/^\d{6}$/.test(token)) return { ok: false, reason: 'wrong' };
  const delta = totpFor(secretBase32, 'x').validate({ token, timestamp: now, window: TOTP_SETTINGS.window });
  if (delta === null) return { ok: false, reason: 'wrong' };
  const step = TOTP.counter({ period: TOTP_SETTINGS.period, timestamp: now }) + delta;
  if (lastUsedStep !== undefined && step <= lastUsedStep) return { ok: false, reason: 'replayed' };
  return { ok: true, step };
}

export const RECOVERY_CODE_COUNT = 10;
const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789'; // no 0/o, 1/l/i: read off paper

/**
 * Ten single-use recovery codes: shown once, stored as SHA-256 hashes. Each has 16 characters from a
 * 31-letter alphabet (about 79 bits), so a fast hash is enough: guessing one from its hash is out of
 * reach, unlike a person's password.
 */
export function newRecoveryCodes(): { codes: string[]; hashes: string[] } {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const chars = Array.from(
      { length: 16 },
      () => RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)],
    ).join('');
    return chars.match(/.{4}/g)!.join('-');
  });
  return { codes, hashes: codes.map(hashRecoveryCode) };
}

export function hashRecoveryCode(code: string): string {
  const canonical = code.toLowerCase().replace(/[^a-z0-9]/g, '');
  return createHash('sha256').update(canonical).digest('hex');
}

/** The stored hashes without the one `code` matches, or undefined when it matches none. */
export function useRecoveryCode(hashes: string[], code: string): string[] | undefined {
  const candidate = Buffer.from(hashRecoveryCode(code), 'hex');
  const index = hashes.findIndex((stored) => timingSafeEqual(Buffer.from(stored, 'hex'), candidate));
  return index < 0 ? undefined : hashes.filter((_, i) => i !== index);
}
