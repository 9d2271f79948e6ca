/**
 * Sign-in throttling, per account name and per source address: the first few failures cost nothing,
 * then each failure doubles the wait before the next attempt is even checked (1 s, 2 s, 4 s ... up to
 * 30 s), and enough failures lock the key for 15 minutes. A counter is forgotten 15 minutes after its
 * last failure, and a lockout ends by itself when its time is up. Account names that do not exist are
 * counted exactly like real ones, so the throttle's answers do not reveal which names are accounts.
 * The clock is a parameter, so tests can move time forward.
 */
import type { ResourceStore, SecurityRecords } from '../store/index.ts';

export interface ThrottlePolicy {
  /** Failures allowed before any delay. */
  freeFailures: number;
  /** Wait after the first delayed failure; doubles with each further failure. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Failures that lock the key. */
  lockoutAfter: number;
  lockoutMs: number;
  /** A counter with no failure for this long starts again from zero. */
  forgetAfterMs: number;
}

const MINUTE = 60_000;

export const ACCOUNT_POLICY: ThrottlePolicy = {
  freeFailures: 3,
  baseDelayMs: 1000,
  maxDelayMs: 30_000,
  lockoutAfter: 10,
  lockoutMs: 15 * MINUTE,
  forgetAfterMs: 15 * MINUTE,
};

/** An address may be a whole practice behind one router: more room before it slows down. */
export const ADDRESS_POLICY: ThrottlePolicy = {
  freeFailures: 10,
  baseDelayMs: 1000,
  maxDelayMs: 30_000,
  lockoutAfter: 50,
  lockoutMs: 15 * MINUTE,
  forgetAfterMs: 15 * MINUTE,
};

export interface FailureCounter {
  failures: number;
  lastFailure: number;
  /** No attempt is checked before this time (epoch ms). */
  notBefore: number;
  lockedUntil?: number;
}

export interface ThrottleState {
  allowed: boolean;
  /** How long to wait before the next attempt is checked (0 when allowed). */
  retryAfterMs: number;
  locked: boolean;
}

/** The counter as it stands at `now`: expired lockouts released, stale counters forgotten. */
export function currentCounter(
  counter: FailureCounter | undefined,
  policy: ThrottlePolicy,
  now: number,
): FailureCounter | undefined {
  if (!counter) return undefined;
  if (counter.lockedUntil !== undefined) return now >= counter.lockedUntil ? undefined : counter;
  return now - counter.lastFailure >= policy.forgetAfterMs ? undefined : counter;
}

export function throttleState(
  counter: FailureCounter | undefined,
  policy: ThrottlePolicy,
  now: number,
): ThrottleState {
  const current = currentCounter(counter, policy, now);
  if (!current) return { allowed: true, retryAfterMs: 0, locked: false };
  const until = Math.max(current.notBefore, current.lockedUntil ?? 0);
  return {
    allowed: now >= until,
    retryAfterMs: Math.max(0, until - now),
    locked: current.lockedUntil !== undefined,
  };
}

/** The delay that follows the `failures`-th failure. */
export function delayAfter(failures: number, policy: ThrottlePolicy): number {
  if (failures <= policy.freeFailures) return 0;
  return Math.min(policy.baseDelayMs * 2 ** (failures - policy.freeFailures - 1), policy.maxDelayMs);
}

export function afterFailure(
  counter: FailureCounter | undefined,
  policy: ThrottlePolicy,
  now: number,
): FailureCounter {
  const failures = (currentCounter(counter, policy, now)?.failures ?? 0) + 1;
  const lockedUntil = failures >= policy.lockoutAfter ? now + policy.lockoutMs : undefined;
  return { failures, lastFailure: now, notBefore: now + delayAfter(failures, policy), lockedUntil };
}

const KIND = 'login-throttle';

export interface ThrottleKey {
  id: string;
  policy: ThrottlePolicy;
}

export function throttleKeys(accountId: string, address: string): ThrottleKey[] {
  return [
    { id: `account:${accountId}`, policy: ACCOUNT_POLICY },
    { id: `address:${address}`, policy: ADDRESS_POLICY },
  ];
}

/** The strictest state over all keys: an attempt goes ahead only when every key allows it. */
export async function checkThrottle(
  records: SecurityRecords,
  keys: ThrottleKey[],
  now: number,
): Promise<ThrottleState> {
  const states = await Promise.all(
    keys.map(async (key) => throttleState(await records.get<FailureCounter>(KIND, key.id), key.policy, now)),
  );
  return {
    allowed: states.every((state) => state.allowed),
    retryAfterMs: Math.max(...states.map((state) => state.retryAfterMs)),
    locked: states.some((state) => state.locked),
  };
}

/** Counts a failure on every key, in one transaction (two sign-ins at once both count). */
export async function recordFailure(store: ResourceStore, keys: ThrottleKey[], now: number): Promise<void> {
  await store.transaction(async (tx) => {
    for (const key of keys) {
      const counter = afterFailure(await tx.records.get<FailureCounter>(KIND, key.id), key.policy, now);
      // Kept past its lockout or forgetting time, then purged; currentCounter ignores it before that.
      const keepUntil = Math.max(counter.lockedUntil ?? 0, now + key.policy.forgetAfterMs) + MINUTE;
      await tx.records.put(KIND, key.id, counter, { expiresAt: keepUntil });
    }
  });
}

/** A successful sign-in clears the account's counter (not the address's: others may share it). */
export async function clearFailures(records: SecurityRecords, key: ThrottleKey): Promise<void> {
  await records.delete(KIND, key.id);
}
