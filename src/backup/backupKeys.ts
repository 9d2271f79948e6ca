/**
 * The keys of a backup repository, all derived by HKDF-SHA256 from one 256-bit backup master key (the
 * one the recovery kit carries), so that the kit holds a single secret. Separate keys per use: a key
 * that names objects never encrypts, and the key that makes nonces is neither.
 */
import { createHmac, hkdfSync } from 'node:crypto';

export interface BackupKeys {
  /** AES-256-GCM key of every object's content. */
  encryption: Buffer;
  /** HMAC-SHA256 key of object names (keyed hashes reveal nothing about the content). */
  naming: Buffer;
  /** HMAC-SHA256 key that makes each object's GCM nonce from its content (see repositoryFormat.ts). */
  nonce: Buffer;
}

const SALT = Buffer.from('chartvault-backup-v1');

export function deriveBackupKeys(masterKey: Buffer): BackupKeys {
  if (masterKey.length !== 32) throw new Error('the backup master key must be 32 bytes');
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', masterKey, SALT, info, 32));
  return { encryption: derive('encryption'), naming: derive('naming'), nonce: derive('nonce') };
}

/** A short check value of a master key, printed in the kit so that a mistyped key is caught at once. */
export function keyCheck(masterKey: Buffer): string {
  return createHmac('sha256', masterKey).update('chartvault-kit-check').digest('hex').slice(0, 8);
}
