/**
 * Refresh tokens for apps people signed in to: opaque (256 random bits), stored only as their SHA-256
 * hash, and rotating. Each use spends the token and hands out a new one of the same family; presenting
 * a spent token again means two parties hold it (the app and a thief), so the whole family is revoked
 * and neither can go on. A family also ends with "sign out everywhere", and its account being disabled
 * or its client revoked stops it at the next refresh.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ResourceStore } from '../store/index.ts';
import { ACCOUNT_KIND, accountId, type Account } from './accounts.ts';
import { CLIENT_KIND, type Client } from './clients.ts';

export const REFRESH_TOKEN_KIND = 'refresh-token';
export const REFRESH_FAMILY_KIND = 'refresh-family';
/** A refresh token not used within this time expires; the family can go on while it is used. */
export const REFRESH_TOKEN_LIFETIME_MS = 30 * 24 * 60 * 60 * 1000;

export interface RefreshGrant {
  clientId: string;
  userName: string;
  scope: string;
  patient?: string;
}

interface StoredRefreshToken extends RefreshGrant {
  family: string;
  issued: number;
  /** When it was exchanged for a new one; a spent token presented again revokes the family. */
  spent?: number;
}

interface RefreshFamily {
  clientId: string;
  userName: string;
  created: number;
  revoked?: { at: number; reason: string };
}

export type RefreshResult =
  | { ok: true; grant: RefreshGrant; refreshToken: string }
  | { ok: false; reason: 'unknown' | 'reused' | 'revoked' | 'wrong-client' | 'inactive'; userName?: string };

/** Starts a family (one per authorization) and returns its first token. */
export async function issueRefreshToken(
  store: ResourceStore,
  grant: RefreshGrant,
  family: string,
  now: number,
): Promise<string> {
  const familyRecord: RefreshFamily = {
    clientId: grant.clientId,
    userName: accountId(grant.userName),
    created: now,
  };
  await store.records.put(REFRESH_FAMILY_KIND, family, familyRecord, familyExpiry(now));
  return store.transaction(async (tx) => newToken(tx.records, grant, family, now));
}

/**
 * Spends `token` and returns a new one with the same grant, or why not. A spent token revokes its
 * family (reported as `reused`, for the audit trail).
 */
export async function rotateRefreshToken(
  store: ResourceStore,
  token: string,
  clientId: string,
  now: number,
): Promise<RefreshResult> {
  const key = hashOf(token);
  return store.transaction(async (tx) => {
    const stored = await tx.records.get<StoredRefreshToken>(REFRESH_TOKEN_KIND, key);
    if (!stored || now >= stored.issued + REFRESH_TOKEN_LIFETIME_MS) return { ok: false, reason: 'unknown' };
    if (stored.clientId !== clientId) return { ok: false, reason: 'wrong-client', userName: stored.userName };
    const family = await tx.records.get<RefreshFamily>(REFRESH_FAMILY_KIND, stored.family);
    if (!family || family.revoked) return { ok: false, reason: 'revoked', userName: stored.userName };
    if (stored.spent !== undefined) {
      family.revoked = { at: now, reason: 'a spent refresh token was presented again' };
      await tx.records.put(REFRESH_FAMILY_KIND, stored.family, family, familyExpiry(now));
      return { ok: false, reason: 'reused', userName: stored.userName };
    }
    const account = await tx.records.get<Account>(ACCOUNT_KIND, stored.userName);
    const client = await tx.records.get<Client>(CLIENT_KIND, stored.clientId);
    if (!account || account.disabled || !client || client.revoked)
      return { ok: false, reason: 'inactive', userName: stored.userName };
    await tx.records.put(REFRESH_FAMILY_KIND, stored.family, family, familyExpiry(now));
    stored.spent = now;
    await tx.records.put(REFRESH_TOKEN_KIND, key, stored, {
      expiresAt: stored.issued + REFRESH_TOKEN_LIFETIME_MS,
    });
    const grant: RefreshGrant = {
      clientId: stored.clientId,
      userName: stored.userName,
      scope: stored.scope,
      ...(stored.patient !== undefined ? { patient: stored.patient } : {}),
    };
    return { ok: true, grant, refreshToken: await newToken(tx.records, grant, stored.family, now) };
  });
}

/** Revokes one family (an authorization code used twice revokes what it gave). */
export async function revokeRefreshFamily(
  store: ResourceStore,
  family: string,
  reason: string,
  now: number,
): Promise<void> {
  const record = await store.records.get<RefreshFamily>(REFRESH_FAMILY_KIND, family);
  if (!record || record.revoked) return;
  record.revoked = { at: now, reason };
  await store.records.put(REFRESH_FAMILY_KIND, family, record, familyExpiry(now));
}

/** Revokes every family of an account (sign out everywhere); returns how many were live. */
export async function revokeRefreshTokensOf(
  store: ResourceStore,
  userName: string,
  reason: string,
  now: number,
): Promise<number> {
  const id = accountId(userName);
  let revoked = 0;
  for (const entry of await store.records.list<RefreshFamily>(REFRESH_FAMILY_KIND)) {
    if (entry.value.userName !== id || entry.value.revoked) continue;
    await revokeRefreshFamily(store, entry.id, reason, now);
    revoked += 1;
  }
  return revoked;
}

async function newToken(
  records: ResourceStore['records'],
  grant: RefreshGrant,
  family: string,
  now: number,
): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  const stored: StoredRefreshToken = { ...grant, family, issued: now };
  await records.put(REFRESH_TOKEN_KIND, hashOf(token), stored, {
    expiresAt: now + REFRESH_TOKEN_LIFETIME_MS,
  });
  return token;
}

/** A family is kept as long as its newest token could be used (and a spent one recognised). */
function familyExpiry(now: number): { expiresAt: number } {
  return { expiresAt: now + REFRESH_TOKEN_LIFETIME_MS };
}

function hashOf(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
