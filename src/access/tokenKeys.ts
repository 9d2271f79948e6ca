/**
 * The key that signs access tokens: an ECDSA P-256 key (ES256), kept as a PKCS#8 PEM file beside the
 * data key in the key folder, readable by its owner only (0600, folder 0700). `chartvault init` does not
 * make it yet: the first command that holds the key folder and needs it creates it (`loadOrCreate`).
 * Losing it only invalidates the access tokens in flight (they live minutes); it can be replaced.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AccessError } from './accessError.ts';

export const TOKEN_SIGNING_ALG = 'ES256';

export interface TokenKeys {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** Key id: the first 16 characters of the base64url SHA-256 of the public key (SPKI). */
  kid: string;
  /** Where it is kept; undefined for a key made in memory. */
  file?: string;
}

export function tokenKeyFilePath(keyDir: string, storeId: string): string {
  return join(resolve(keyDir), `${storeId}.token-signing.pem`);
}

/** Loads the store's token signing key from the key folder, making it on first use. */
export function loadOrCreateTokenKeys(keyDir: string, storeId: string): TokenKeys {
  const file = tokenKeyFilePath(keyDir, storeId);
  if (!existsSync(file)) {
    const dir = resolve(keyDir);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    try {
      writeFileSync(file, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
    } catch (error) {
      // Another process made it between our check and our write: use theirs.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  if ((statSync(file).mode & 0o077) !== 0) {
    throw new AccessError(`The token signing key ${file} can be read by other users; run: chmod 600 ${file}`);
  }
  return fromPrivateKey(createPrivateKey(readFileSync(file, 'utf8')), file);
}

/**
 * A key that lives only in this process: tokens it signs stop verifying when the process ends. For a
 * server started without a key folder (tests, or until serve passes its key folder).
 */
export function ephemeralTokenKeys(): TokenKeys {
  return fromPrivateKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
}

function fromPrivateKey(privateKey: KeyObject, file?: string): TokenKeys {
  const publicKey = createPublicKey(privateKey);
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const kid = createHash('sha256').update(spki).digest('base64url').slice(0, 16);
  return { privateKey, publicKey, kid, file };
}
