/**
 * The audit signing key (docs/audit-chain.md, section 4): an Ed25519 private seed, 64 hex characters, in
 * the key folder beside the data key (`<storeId>.audit.key`), under the same rules: a 0700 folder, a
 * 0600 file, never overwritten.
 */
import { createHash, createPrivateKey, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The fixed DER prefix of a PKCS #8 Ed25519 private key (RFC 8410), before the 32-byte seed. */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** The fixed DER prefix of an SPKI Ed25519 public key (RFC 8410), before the 32 raw bytes. */
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export class AuditKeyError extends Error {}

export interface AuditSigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** First 16 hex characters of SHA-256 of the raw 32-byte public key. */
  keyId: string;
  file: string;
}

export function auditKeyFilePath(keyDir: string, storeId: string): string {
  return join(resolve(keyDir), `${storeId}.audit.key`);
}

/** Makes the key (at init, or on first use for an older store); refuses to overwrite one. */
export function createAuditSigningKey(keyDir: string, storeId: string): AuditSigningKey {
  const file = auditKeyFilePath(keyDir, storeId);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  chmodSync(dirname(file), 0o700);
  if (existsSync(file)) throw new AuditKeyError(`An audit signing key already exists at ${file}.`);
  writeFileSync(file, randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  return loadAuditSigningKey(keyDir, storeId)!;
}

/** The key, or undefined when the key folder has none for this store. */
export function loadAuditSigningKey(keyDir: string, storeId: string): AuditSigningKey | undefined {
  const file = auditKeyFilePath(keyDir, storeId);
  if (!existsSync(file)) return undefined;
  for (const [path, what, mode] of [
    [dirname(file), 'key folder', '700'],
    [file, 'audit signing key', '600'],
  ] as const) {
    if ((statSync(path).mode & 0o077) !== 0)
      throw new AuditKeyError(`The ${what} ${path} can be read by other users; run: chmod ${mode} ${path}`);
  }
  const text = readFileSync(file, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/i.test(text))
    throw new AuditKeyError(`The audit signing key in ${file} is not 64 hexadecimal characters.`);
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, Buffer.from(text, 'hex')]),
    format: 'der',
    type: 'pkcs8',
  });
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, keyId: keyIdOf(publicKey), file };
}

export function ensureAuditSigningKey(keyDir: string, storeId: string): AuditSigningKey {
  return loadAuditSigningKey(keyDir, storeId) ?? createAuditSigningKey(keyDir, storeId);
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(rawPublicKey(publicKey)).digest('hex').slice(0, 16);
}

/** The 32 raw bytes of an Ed25519 public key (RFC 8032), as backups carry it. */
export function rawPublicKey(publicKey: KeyObject): Buffer {
  return publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
}

/** An Ed25519 public key from its 32 raw bytes in hex; undefined when that is not one. */
export function publicKeyFromRaw(hex: string): KeyObject | undefined {
  if (!/^[0-9a-f]{64}$/.test(hex)) return undefined;
  try {
    return createPublicKey({
      key: Buffer.concat([SPKI_ED25519_PREFIX, Buffer.from(hex, 'hex')]),
      format: 'der',
      type: 'spki',
    });
  } catch {
    return undefined;
  }
}

// ---- Earlier keys: after a restore (docs/audit-chain.md, "After a restore") ----

/**
 * A public key that signed checkpoints of this chain before a restore: the restored store signs with a
 * key of its own, and accepts this one only for checkpoints up to `until` (the newest it signed then).
 */
export interface EarlierAuditKey {
  keyId: string;
  /** The raw 32-byte public key, hex. */
  publicKey: string;
  until: number;
}

export const EARLIER_KEYS_FILE = 'audit-earlier-keys.json';

export const earlierKeysFilePath = (dataDir: string) => join(resolve(dataDir), EARLIER_KEYS_FILE);

/** The earlier keys kept in a data directory (none when the file is absent). */
export function readEarlierAuditKeys(dataDir: string): EarlierAuditKey[] {
  const file = earlierKeysFilePath(dataDir);
  if (!existsSync(file)) return [];
  let parsed: { keys?: EarlierAuditKey[] };
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as { keys?: EarlierAuditKey[] };
  } catch {
    throw new AuditKeyError(`${file} is not valid JSON; it lists the audit keys of before a restore.`);
  }
  return (parsed.keys ?? []).filter(
    (k) => typeof k.keyId === 'string' && typeof k.publicKey === 'string' && Number.isSafeInteger(k.until),
  );
}

/** Written by a restore into the new data directory, once (never overwritten). */
export function writeEarlierAuditKeys(dataDir: string, keys: EarlierAuditKey[]): void {
  writeFileSync(earlierKeysFilePath(dataDir), JSON.stringify({ keys }, null, 2) + '\n', {
    mode: 0o600,
    flag: 'wx',
  });
}

/**
 * Every public key this store's checkpoints may be signed with, by key id (raw public key, hex): its
 * own and the earlier ones. Backups carry those their checkpoints name, so that a restore can check them.
 */
export function knownAuditPublicKeys(
  keyDir: string,
  dataDir: string,
  storeId: string,
): Record<string, string> {
  const known: Record<string, string> = {};
  for (const earlier of readEarlierAuditKeys(dataDir)) known[earlier.keyId] = earlier.publicKey;
  const own = loadAuditSigningKey(keyDir, storeId);
  if (own) known[own.keyId] = rawPublicKey(own.publicKey).toString('hex');
  return known;
}

// ---- Rotation (docs/audit-chain.md, "Rotating the signing key") ----

/**
 * Adds (or, for a key id already listed, replaces) one earlier key, keeping the others: the new list is
 * written to a temporary file, synced, and renamed over the old one, so a crash leaves one or the other.
 */
export function appendEarlierAuditKey(dataDir: string, key: EarlierAuditKey): void {
  const keys = [...readEarlierAuditKeys(dataDir).filter((k) => k.keyId !== key.keyId), key];
  const file = earlierKeysFilePath(dataDir);
  writeFileDurably(`${file}.new`, JSON.stringify({ keys }, null, 2) + '\n', file);
}

/**
 * Replaces the store's signing key with a new random one: the seed goes to `<file>.new` (0600), is
 * synced and renamed over the key file, so a crash leaves the old key or the new one, never half of one.
 */
export function replaceAuditSigningKey(keyDir: string, storeId: string): AuditSigningKey {
  const file = auditKeyFilePath(keyDir, storeId);
  if (!existsSync(file)) throw new AuditKeyError(`There is no audit signing key at ${file} to replace.`);
  writeFileDurably(`${file}.new`, randomBytes(32).toString('hex') + '\n', file);
  return loadAuditSigningKey(keyDir, storeId)!;
}

/** Writes `temp` (0600, fresh), syncs it, renames it over `target` and syncs the folder. */
function writeFileDurably(temp: string, text: string, target: string): void {
  rmSync(temp, { force: true });
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, target);
  const dir = openSync(dirname(target), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
