/**
 * Signing in: the password step, then the second factor. Both answer a failure the same way whatever
 * went wrong (no such user, wrong password, disabled account, throttled), and an unknown user name
 * costs the same Argon2id work as a known one, so neither the answer nor its timing tells an attacker
 * which names are accounts. Failures count against the account name and the source address
 * (throttle.ts); the counters clear only when both factors succeed, so knowing the password does not
 * buy unlimited guesses at the code.
 */
import type { ResourceStore } from '../store/index.ts';
import { accountId, ACCOUNT_KIND, type Account } from './accounts.ts';
import { recordAccessEvent, type AccessEvent } from './attribution.ts';
import { verifyAgainstDummy, verifyPassword } from './passwordHash.ts';
import { checkThrottle, clearFailures, recordFailure, throttleKeys, type ThrottleKey } from './throttle.ts';
import { verifyTotp, useRecoveryCode } from './totp.ts';
import type { HumanRole } from './roles.ts';

export const SIGN_IN_FAILED =
  'Sign-in failed: the user name or password is not right, or sign-in is paused after too many attempts. Wait a moment and try again, or ask your security officer.';
export const SECOND_FACTOR_FAILED =
  'The code is not right, has been used already, or sign-in is paused after too many attempts. Use the newest code from your authenticator app, or a recovery code.';

export type LoginFailure = { ok: false; message: string; retryAfterMs: number };

export type PasswordResult =
  | {
      ok: true;
      userName: string;
      role: HumanRole;
      /** What comes next: the code, or (no authenticator yet) enrolling one. */
      next: 'second-factor' | 'enrol-mfa';
    }
  | LoginFailure;

export interface LoginOptions {
  /** The clock (epoch ms); tests move it. */
  now?: number;
}

export async function authenticatePassword(
  store: ResourceStore,
  userName: string,
  password: string,
  address: string,
  options: LoginOptions = {},
): Promise<PasswordResult> {
  const now = options.now ?? Date.now();
  const id = accountId(userName);
  const keys = throttleKeys(id, address);
  const event = { action: 'login-password', actor: { kind: 'anonymous', id }, address } as const;
  const refused = await refuseIfThrottled(store, keys, now, event, SIGN_IN_FAILED);
  if (refused) return refused;
  const account = await store.records.get<Account>(ACCOUNT_KIND, id);
  const usable = account !== undefined && !account.disabled && account.passwordHash !== undefined;
  const passwordRight = usable
    ? await verifyPassword(account.passwordHash!, password)
    : await verifyAgainstDummy(password);
  if (!usable || !passwordRight) {
    await recordFailure(store, keys, now);
    const after = await checkThrottle(store.records, keys, now);
    await audit(store, {
      ...event,
      outcome: 'failure',
      detail: account ? 'wrong password or disabled' : 'unknown user',
    });
    return { ok: false, message: SIGN_IN_FAILED, retryAfterMs: after.retryAfterMs };
  }
  await audit(store, { ...event, actor: { kind: 'user', id }, outcome: 'success' });
  return {
    ok: true,
    userName: account.userName,
    role: account.role,
    next: account.mfa.totpConfirmed ? 'second-factor' : 'enrol-mfa',
  };
}

export type SecondFactorResult =
  | {
      ok: true;
      userName: string;
      role: HumanRole;
      method: SecondFactorMethod;
      recoveryCodesLeft: number;
    }
  | LoginFailure;

/**
 * Checks a TOTP code (replay refused) or a recovery code (spent on use) for an account whose password
 * step has just succeeded.
 */
export async function verifySecondFactor(
  store: ResourceStore,
  userName: string,
  code: string,
  address: string,
  options: LoginOptions = {},
): Promise<SecondFactorResult> {
  // A TOTP code has 6 digits; a recovery code is longer.
  const isRecoveryCode = code.replace(/\s+/g, '').length > 6;
  return checkSecondFactor(store, userName, address, options, async (account, now) => {
    if (!account.mfa.totpConfirmed || !account.mfa.totpSecret) return undefined;
    if (isRecoveryCode) {
      const remaining = useRecoveryCode(account.mfa.recoveryCodeHashes, code);
      if (!remaining) return undefined;
      account.mfa.recoveryCodeHashes = remaining;
      return 'recovery-code';
    }
    const check = verifyTotp(account.mfa.totpSecret, code, account.mfa.lastTotpStep, now);
    if (!check.ok) return undefined;
    account.mfa.lastTotpStep = check.step;
    return 'totp';
  });
}

export type SecondFactorMethod = 'totp' | 'recovery-code' | 'passkey';

/**
 * The second step of a sign-in, whatever the factor: throttled per account and address, audited,
 * and checked and spent in one transaction (`spend` checks the factor on the stored account and
 * records its use on it, such as the TOTP step or a passkey's counter), so that the same code or
 * assertion sent twice at once counts once.
 */
export async function checkSecondFactor(
  store: ResourceStore,
  userName: string,
  address: string,
  options: LoginOptions,
  spend: (account: Account, now: number) => Promise<SecondFactorMethod | undefined>,
): Promise<SecondFactorResult> {
  const now = options.now ?? Date.now();
  const id = accountId(userName);
  const keys = throttleKeys(id, address);
  const event = { action: 'login-second-factor', actor: { kind: 'user', id }, address } as const;
  const refused = await refuseIfThrottled(store, keys, now, event, SECOND_FACTOR_FAILED);
  if (refused) return refused;
  const result = await store.transaction(async (tx) => {
    const account = await tx.records.get<Account>(ACCOUNT_KIND, id);
    if (!account || account.disabled) return undefined;
    const method = await spend(account, now);
    if (!method) return undefined;
    await tx.records.put(ACCOUNT_KIND, id, account);
    return { account, method };
  });
  if (!result) {
    await recordFailure(store, keys, now);
    const after = await checkThrottle(store.records, keys, now);
    await audit(store, { ...event, outcome: 'failure', detail: 'wrong or used second factor' });
    return { ok: false, message: SECOND_FACTOR_FAILED, retryAfterMs: after.retryAfterMs };
  }
  await clearFailures(store.records, keys[0]!);
  await audit(store, { ...event, outcome: 'success', detail: result.method.replace('-', ' ') });
  return {
    ok: true,
    userName: result.account.userName,
    role: result.account.role,
    method: result.method,
    recoveryCodesLeft: result.account.mfa.recoveryCodeHashes.length,
  };
}

/** The refusal (audited) when the account or address is throttled or locked out; undefined when not. */
async function refuseIfThrottled(
  store: ResourceStore,
  keys: ThrottleKey[],
  now: number,
  event: Omit<AccessEvent, 'outcome' | 'detail'>,
  message: string,
): Promise<LoginFailure | undefined> {
  const throttle = await checkThrottle(store.records, keys, now);
  if (throttle.allowed) return undefined;
  await audit(store, {
    ...event,
    outcome: 'failure',
    detail: throttle.locked ? 'locked out' : 'throttled',
  });
  return { ok: false, message, retryAfterMs: throttle.retryAfterMs };
}

async function audit(store: ResourceStore, event: AccessEvent): Promise<void> {
  // Outside any transaction: joins the store's next group commit of audit entries.
  await recordAccessEvent(store, event);
}
