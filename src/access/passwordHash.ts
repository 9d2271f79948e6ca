/**
 * Password hashing with Argon2id (RFC 9106), parameters from OWASP's Password Storage Cheat Sheet:
 * 19 MiB of memory, 2 passes, 1 lane (the first of its equivalent settings, and the one that keeps
 * several concurrent sign-ins within a small server's memory). The hash is a PHC string
 * ($argon2id$v=19$m=19456,t=2,p=1$salt$hash) with a 16-byte random salt, so parameters can be raised
 * later and old hashes still verify.
 */
import { randomUUID } from 'node:crypto';
import { Algorithm, hash, verify } from '@node-rs/argon2';
import { normalizePassword } from './passwordPolicy.ts';

export const ARGON2_PARAMETERS = {
  algorithm: Algorithm.Argon2id,
  memoryCost: 19456,
  timeCost: 2,
  parallelism: 1,
  outputLen: 32,
} as const;

export async function hashPassword(password: string): Promise<string> {
  return hash(normalizePassword(password), ARGON2_PARAMETERS);
}

/** False (never an exception) for a wrong password or a damaged hash. */
export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, normalizePassword(password));
  } catch {
    return false;
  }
}

let dummyHash: Promise<string> | undefined;

/**
 * Spends the same time as checking a real password, for a user name that does not exist, so that
 * timing does not tell an attacker which names are accounts. Always false.
 */
export async function verifyAgainstDummy(password: string): Promise<false> {
  dummyHash ??= hashPassword(randomUUID());
  await verifyPassword(await dummyHash, password);
  return false;
}
