/**
 * Encryption of the downtime file's contents. The viewer undoes it with WebCrypto alone, so every
 * choice here is one that browsers implement: PBKDF2-SHA256 (600,000 iterations, OWASP's 2023 figure)
 * turns the passphrase into an AES-256-GCM key; the contents are gzip-compressed (the viewer uses
 * DecompressionStream) and then sealed. GCM's tag makes a wrong passphrase fail as a whole: the viewer
 * either shows everything or nothing.
 */
import { createCipheriv, createDecipheriv, hkdfSync, pbkdf2Sync, randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { normalizePassphrase } from './passphrase.ts';

export const ENVELOPE_FORMAT = 'chartvault-downtime/1';
export const PBKDF2_ITERATIONS = 600_000;

/**
 * What GCM authenticates besides the ciphertext: every field shown or used before unlocking, so that
 * nobody can change the lock screen's time or the derivation parameters of a copy unnoticed.
 */
export function additionalData(envelope: Pick<Envelope, 'format' | 'kdf' | 'cipher' | 'asOf'>): Buffer {
  const { format, kdf, cipher, asOf } = envelope;
  return Buffer.from(
    [format, kdf.name, kdf.hash, kdf.iterations, kdf.salt, cipher.name, cipher.iv, asOf].join('|'),
    'utf8',
  );
}

/** A key derived from a passphrase, with what the viewer needs to derive it again. */
export interface DowntimeKey {
  key: Buffer;
  salt: Buffer;
  iterations: number;
}

/** What the downtime file carries in the clear: how to derive the key, and the sealed bytes. */
export interface Envelope {
  format: typeof ENVELOPE_FORMAT;
  kdf: { name: 'PBKDF2'; hash: 'SHA-256'; iterations: number; salt: string };
  cipher: { name: 'AES-GCM'; iv: string };
  compression: 'gzip';
  /** The time the data was read from the store; shown before unlocking so staff can pick the newest copy. */
  asOf: string;
  /** Base64 of the ciphertext followed by the 16-byte GCM tag, as WebCrypto's decrypt expects. */
  data: string;
}

export function deriveDowntimeKey(
  passphrase: string,
  salt: Buffer = randomBytes(16),
  iterations = PBKDF2_ITERATIONS,
): DowntimeKey {
  const key = pbkdf2Sync(
    Buffer.from(normalizePassphrase(passphrase), 'utf8'),
    salt,
    iterations,
    32,
    'sha256',
  );
  return { key, salt, iterations };
}

/** A short public name for a key: file names carry it, so copies made with an old passphrase can be found. */
export function keyId(key: DowntimeKey): string {
  return hkdfBytes(key.key, 'chartvault downtime key id', 4).toString('hex');
}

export function seal(contents: Buffer, key: DowntimeKey, asOf: string): Envelope {
  const iv = randomBytes(12);
  const header = {
    format: ENVELOPE_FORMAT,
    kdf: { name: 'PBKDF2', hash: 'SHA-256', iterations: key.iterations, salt: key.salt.toString('base64') },
    cipher: { name: 'AES-GCM', iv: iv.toString('base64') },
    compression: 'gzip',
    asOf,
  } as const;
  const cipher = createCipheriv('aes-256-gcm', key.key, iv);
  cipher.setAAD(additionalData(header));
  const sealed = Buffer.concat([cipher.update(gzipSync(contents)), cipher.final(), cipher.getAuthTag()]);
  return { ...header, data: sealed.toString('base64') };
}

/** Opens an envelope with a passphrase (what the viewer does; used by tests and `downtime verify`). */
export function open(envelope: Envelope, passphrase: string): Buffer {
  const { key } = deriveDowntimeKey(
    passphrase,
    Buffer.from(envelope.kdf.salt, 'base64'),
    envelope.kdf.iterations,
  );
  const sealed = Buffer.from(envelope.data, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(envelope.cipher.iv, 'base64'));
  decipher.setAAD(additionalData(envelope));
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  const compressed = Buffer.concat([
    decipher.update(sealed.subarray(0, sealed.length - 16)),
    decipher.final(),
  ]);
  return gunzipSync(compressed);
}

/**
 * Scheduled exports run without anyone typing the passphrase, so the derived key is kept in the data
 * directory, wrapped (AES-256-GCM) under a key derived from the store's data key: whoever can open the
 * store can already read every chart, and nobody else can use the wrapped key.
 */
export function wrapKey(dataKey: Buffer, storeId: string, key: DowntimeKey): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', wrappingKey(dataKey, storeId), iv);
  cipher.setAAD(Buffer.from(storeId, 'utf8'));
  const sealed = Buffer.concat([cipher.update(key.key), cipher.final(), cipher.getAuthTag()]);
  return [iv, sealed, key.salt].map((part) => part.toString('base64')).join('.') + `.${key.iterations}`;
}

export function unwrapKey(dataKey: Buffer, storeId: string, wrapped: string): DowntimeKey {
  const [iv, sealed, salt, iterations] = wrapped.split('.');
  const sealedBytes = Buffer.from(sealed, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', wrappingKey(dataKey, storeId), Buffer.from(iv, 'base64'));
  decipher.setAAD(Buffer.from(storeId, 'utf8'));
  decipher.setAuthTag(sealedBytes.subarray(sealedBytes.length - 16));
  const key = Buffer.concat([
    decipher.update(sealedBytes.subarray(0, sealedBytes.length - 16)),
    decipher.final(),
  ]);
  return { key, salt: Buffer.from(salt, 'base64'), iterations: Number(iterations) };
}

function wrappingKey(dataKey: Buffer, storeId: string): Buffer {
  return hkdfBytes(dataKey, `chartvault downtime key wrap ${storeId}`, 32);
}

function hkdfBytes(key: Buffer, info: string, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), info, length));
}
