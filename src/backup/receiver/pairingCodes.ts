/**
 * One-time pairing codes: 160 random bits shown as 8 groups of 4 base32 characters, valid 15 minutes,
 * stored only as their SHA-256 (a file per code in the receiver's `pairing/` folder, so that
 * `receiver pair` works while the receiver runs in another process). Claiming a code renames its file
 * to `.used`, which only one request can do, so a code pairs at most once.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const PAIRING_MINUTES = 15;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export interface PendingPairing {
  label: string;
  createdAt: string;
  expiresAt: string;
  /** Pair a new client to this existing practice (a restored or replaced server) instead of a new one. */
  practice?: string;
  /** With `practice`: the new client replaces the practice's earlier ones. */
  replace?: boolean;
}

export class PairingRefused extends Error {}

function base32(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

/** Upper case, separators removed; undefined unless it has the shape of a code. */
export function normalizeCode(code: string): string | undefined {
  const plain = code.toUpperCase().replace(/[\s-]/g, '');
  return /^[A-Z2-7]{32}$/.test(plain) ? plain : undefined;
}

const codeFile = (folder: string, code: string) =>
  join(folder, createHash('sha256').update(code).digest('hex'));

export function createPairingCode(
  folder: string,
  options: { label: string; practice?: string; replace?: boolean; now?: Date },
): { code: string; expiresAt: Date } {
  const now = options.now ?? new Date();
  const code = base32(randomBytes(20));
  const expiresAt = new Date(now.getTime() + PAIRING_MINUTES * 60 * 1000);
  const pending: PendingPairing = {
    label: options.label,
    createdAt: now.toISOString(),
    expiresAt: expiresAt.toISOString(),
    ...(options.practice ? { practice: options.practice, replace: options.replace === true } : {}),
  };
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  writeFileSync(`${codeFile(folder, code)}.json`, JSON.stringify(pending) + '\n', {
    mode: 0o600,
    flag: 'wx',
  });
  return { code: code.match(/.{4}/g)!.join('-'), expiresAt };
}

/** Uses up a code; refuses, with a message for the practice's operator, a wrong, expired or used one. */
export function claimPairingCode(folder: string, code: string, now = new Date()): PendingPairing {
  const plain = normalizeCode(code);
  if (!plain)
    throw new PairingRefused(
      'that is not a pairing code (8 groups of 4 characters, A-Z and 2-7); copy it from chartvault receiver pair.',
    );
  const file = codeFile(folder, plain);
  const again = 'run chartvault receiver pair on the receiver for a new code';
  if (!existsSync(`${file}.json`)) {
    if (existsSync(`${file}.used`)) throw new PairingRefused(`this pairing code was already used; ${again}.`);
    throw new PairingRefused(`wrong pairing code (no such code on this receiver); check it or ${again}.`);
  }
  const pending = JSON.parse(readFileSync(`${file}.json`, 'utf8')) as PendingPairing;
  if (new Date(pending.expiresAt).getTime() <= now.getTime())
    throw new PairingRefused(
      `this pairing code expired at ${pending.expiresAt} (codes are valid ${PAIRING_MINUTES} minutes); ${again}.`,
    );
  try {
    renameSync(`${file}.json`, `${file}.used`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new PairingRefused(`this pairing code was already used; ${again}.`);
    throw error;
  }
  return pending;
}
