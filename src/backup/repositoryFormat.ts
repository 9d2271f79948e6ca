/**
 * The repository format, version 2, as docs/backup-format.md specifies it: the layout of a target, the
 * sealed object encoding, and the `config` object. Everything here is pure (no I/O).
 *
 * A sealed object is
 *   "CVBK" | format version (1 byte) | kind (1 byte) | nonce (12) | AES-256-GCM ciphertext | tag (16)
 * whose GCM plaintext is a compression byte (0 none, 1 gzip) followed by the compressed payload. The
 * additional authenticated data is the 6 header bytes and the object's name, so an object moved to
 * another name (or kind) does not open. The name is HMAC-SHA256(naming key, kind label | 0 | plaintext)
 * in hex, and the nonce the first 12 bytes of HMAC-SHA256(nonce key, the same): equal content gives
 * equal bytes (a re-run after a crash rewrites identical objects, so "exists with other content" is
 * always an error), and different content gets different nonces.
 */
import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzipSync, gzip, gzipSync } from 'node:zlib';
import type { BackupKeys } from './backupKeys.ts';
import { BackupError } from './backupError.ts';

/**
 * The format of configs, manifests and kits: 2 added the audit chain and the security records, 3 full
 * snapshots (which retention needs).
 */
export const FORMAT_VERSION = 3;
/** The sealed-object encoding (header byte 4), unchanged since format 1: objects stay byte-identical. */
export const OBJECT_VERSION = 1;
export const CONFIG_PATH = 'config';

/** `pack` holds resource versions, `audit` audit entries, `records` the security records. */
export type ObjectKind = 'config' | 'pack' | 'snapshot' | 'audit' | 'records';
/** Kinds stored under packs/ (the data of snapshots), as opposed to manifests and the config. */
export type DataKind = 'pack' | 'audit' | 'records';
const KIND_BYTE: Record<ObjectKind, number> = { config: 1, pack: 2, snapshot: 3, audit: 4, records: 5 };
const MAGIC = Buffer.from('CVBK');
const HEADER = 6;
const NONCE = 12;
const TAG = 16;

const NAME = /^[0-9a-f]{64}$/;

/** Where an object lives: every data object under packs/ (whatever its kind), manifests in snapshots/. */
export function objectPath(kind: DataKind | 'snapshot', name: string): string {
  return kind === 'snapshot' ? `snapshots/${name}` : `packs/${name.slice(0, 2)}/${name}`;
}

/** The name in a listed path, or undefined for anything that is not an object of that kind. */
export function nameOfPath(kind: DataKind | 'snapshot', path: string): string | undefined {
  const name = path.slice(path.lastIndexOf('/') + 1);
  return NAME.test(name) && objectPath(kind, name) === path ? name : undefined;
}

export interface SealedObject {
  name: string;
  bytes: Buffer;
}

const GZIP = { level: 6 };
const gzipInPool = promisify(gzip);

/** Seals a payload. `name` is given only for the config object (which has a fixed name). */
export function sealObject(
  keys: BackupKeys,
  kind: ObjectKind,
  payload: Buffer,
  fixedName?: string,
): SealedObject {
  return sealCompressed(keys, kind, gzipSync(payload, GZIP), fixedName);
}

/**
 * The same, compressing in libuv's thread pool: a snapshot seals several packs at once while the main
 * thread reads the next versions. The bytes are those `sealObject` makes (same zlib, same level).
 */
export async function sealObjectInPool(
  keys: BackupKeys,
  kind: ObjectKind,
  payload: Buffer,
): Promise<SealedObject> {
  return sealCompressed(keys, kind, await gzipInPool(payload, GZIP));
}

function sealCompressed(
  keys: BackupKeys,
  kind: ObjectKind,
  compressed: Buffer,
  fixedName?: string,
): SealedObject {
  const plaintext = Buffer.concat([Buffer.of(1), compressed]);
  const label = Buffer.from(`${kind}\0`);
  const name = fixedName ?? createHmac('sha256', keys.naming).update(label).update(plaintext).digest('hex');
  const nonce = createHmac('sha256', keys.nonce).update(label).update(plaintext).digest().subarray(0, NONCE);
  const header = Buffer.concat([MAGIC, Buffer.of(OBJECT_VERSION, KIND_BYTE[kind])]);
  const cipher = createCipheriv('aes-256-gcm', keys.encryption, nonce);
  cipher.setAAD(Buffer.concat([header, Buffer.from(name)]));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { name, bytes: Buffer.concat([header, nonce, body, cipher.getAuthTag()]) };
}

/** An object that is there but cannot be used; `reason` says why, in words an operator can act on. */
export class CorruptObject extends BackupError {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
  }
}

/** Opens a sealed object read from `path`: checks header, authenticity, name, then decompresses. */
export function openObject(
  keys: BackupKeys,
  kind: ObjectKind,
  path: string,
  name: string,
  bytes: Buffer,
): Buffer {
  if (bytes.length < HEADER + NONCE + 1 + TAG) throw new CorruptObject(path, 'too short (truncated)');
  if (!bytes.subarray(0, 4).equals(MAGIC)) throw new CorruptObject(path, 'not a ChartVault backup object');
  if (bytes[4]! > OBJECT_VERSION)
    throw new BackupError(
      `${path} is sealed in object encoding ${bytes[4]}; this ChartVault reads encoding ${OBJECT_VERSION}: upgrade ChartVault to restore it.`,
    );
  if (bytes[4] !== OBJECT_VERSION || bytes[5] !== KIND_BYTE[kind])
    throw new CorruptObject(path, `not a ${kind} object`);
  const header = bytes.subarray(0, HEADER);
  const nonce = bytes.subarray(HEADER, HEADER + NONCE);
  const decipher = createDecipheriv('aes-256-gcm', keys.encryption, nonce);
  decipher.setAAD(Buffer.concat([header, Buffer.from(name)]));
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG));
  let plaintext: Buffer;
  try {
    plaintext = Buffer.concat([
      decipher.update(bytes.subarray(HEADER + NONCE, bytes.length - TAG)),
      decipher.final(),
    ]);
  } catch {
    throw new CorruptObject(path, 'does not authenticate (damaged, truncated or altered)');
  }
  if (kind !== 'config') {
    const expected = createHmac('sha256', keys.naming).update(`${kind}\0`).update(plaintext).digest();
    if (!timingSafeEqual(expected, Buffer.from(name, 'hex')))
      throw new CorruptObject(path, 'content does not match its name');
  }
  try {
    if (plaintext[0] === 0) return plaintext.subarray(1);
    if (plaintext[0] === 1) return gunzipSync(plaintext.subarray(1));
  } catch {
    throw new CorruptObject(path, 'does not decompress');
  }
  throw new CorruptObject(path, `unknown compression ${plaintext[0]}`);
}

/** The `config` object: plain JSON naming the format, version and store; `check` proves the key. */
export interface RepositoryConfig {
  format: 'chartvault-backup';
  version: number;
  storeId: string;
  createdAt: string;
  /** A sealed config object (base64) holding {storeId}: it opens only with this store's backup key. */
  check: string;
}

export function makeConfig(keys: BackupKeys, storeId: string, createdAt: string): Buffer {
  const check = sealObject(keys, 'config', Buffer.from(JSON.stringify({ storeId })), CONFIG_PATH);
  const config: RepositoryConfig = {
    format: 'chartvault-backup',
    version: FORMAT_VERSION,
    storeId,
    createdAt,
    check: check.bytes.toString('base64'),
  };
  return Buffer.from(JSON.stringify(config, null, 2) + '\n');
}

/**
 * Reads a target's config with a kit: refuses another format, a newer version, another practice's
 * store, and a key that does not open it, each with its own message.
 */
export function checkConfig(
  bytes: Buffer,
  keys: BackupKeys,
  storeId: string,
  where: string,
): RepositoryConfig {
  let config: RepositoryConfig;
  try {
    config = JSON.parse(bytes.toString('utf8')) as RepositoryConfig;
  } catch {
    throw new BackupError(`${where}/config is damaged (not JSON): this is not a readable ChartVault backup.`);
  }
  if (config.format !== 'chartvault-backup' || typeof config.version !== 'number')
    throw new BackupError(`${where} is not a ChartVault backup (its config names another format).`);
  if (config.version > FORMAT_VERSION)
    throw new BackupError(
      `${where} is in backup format version ${config.version}; this ChartVault reads versions up to ${FORMAT_VERSION}: upgrade ChartVault to read it.`,
    );
  if (config.storeId !== storeId)
    throw new BackupError(
      `${where} holds the backups of another practice (store ${config.storeId}); this kit and store are for store ${storeId}.`,
    );
  try {
    const inner = JSON.parse(
      openObject(
        keys,
        'config',
        `${where}/config`,
        CONFIG_PATH,
        Buffer.from(config.check, 'base64'),
      ).toString(),
    ) as { storeId: string };
    if (inner.storeId !== storeId) throw new Error('store id');
  } catch {
    throw new BackupError(
      `The backup key does not open ${where}: the kit is wrong or mistyped, the target was written under an earlier backup key (after keys rotate-backup, back up to a new target), or ${where}/config was altered.`,
    );
  }
  return config;
}
