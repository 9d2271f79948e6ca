/**
 * Named accounts for people: one per person, never shared. Each has one role, an Argon2id password
 * hash (or, until first sign-in, the hash of a one-time enrolment code), its MFA state, and a disabled
 * flag that takes effect at the next request (sessions and tokens check it every time). Stored as
 * security records of kind `account`, keyed by the normalised user name.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ResourceStore } from '../store/index.ts';
import { recordAccessEvent, type Actor } from './attribution.ts';
import { AccessError } from './accessError.ts';
import { hashPassword } from './passwordHash.ts';
import { checkPassword } from './passwordPolicy.ts';
import { isHumanRole, HUMAN_ROLES, type HumanRole } from './roles.ts';

export const ACCOUNT_KIND = 'account';
export const ENROLMENT_CODE_LIFETIME_MS = 24 * 60 * 60 * 1000;

export interface MfaState {
  /** Always true for people: the security officer cannot switch it off (the policy asks for it). */
  required: boolean;
  /** Base32 TOTP secret; set at enrolment, confirmed by a first good code. */
  totpSecret?: string;
  totpConfirmed: boolean;
  /** Time step of the last accepted code: codes from it or earlier are refused (no replay). */
  lastTotpStep?: number;
  /** SHA-256 hashes of the unused recovery codes. */
  recoveryCodeHashes: string[];
  /** Passkeys (WebAuthn credentials), the phishing-resistant second factor (passkeys.ts). */
  passkeys?: StoredPasskey[];
}

export interface StoredPasskey {
  /** The credential id, base64url. */
  id: string;
  /** The COSE public key, base64url. */
  publicKey: string;
  /** The authenticator's signature counter at its last use (0 for authenticators that keep none). */
  counter: number;
  transports?: string[];
  created: string;
  /** The host name (WebAuthn RP ID) it was made for: it works there only. */
  rpId: string;
}

export interface Account {
  userName: string;
  displayName: string;
  role: HumanRole;
  /**
   * The Practitioner this person is in the records (`Practitioner/{id}` without the type): what
   * makes them part of a patient's care team, for restricted charts (restrictedCharts.ts).
   */
  practitioner?: string;
  passwordHash?: string;
  /** A one-time code that lets the person set their first password; only its hash is kept. */
  enrolment?: { codeHash: string; expiresAt: number };
  mfa: MfaState;
  disabled: boolean;
  created: string;
  changed: string;
  createdBy: string;
}

/** What `list` shows: never a hash or a secret. */
export interface AccountSummary {
  userName: string;
  displayName: string;
  role: HumanRole;
  practitioner?: string;
  disabled: boolean;
  mfaEnrolled: boolean;
  passwordSet: boolean;
  enrolmentPending: boolean;
  created: string;
  changed: string;
}

const USER_NAME = /^[a-z0-9][a-z0-9._@-]{1,63}$/;

/** The key of an account: NFKC, lower case, so "Ana" and "ana" are one account. */
export function accountId(userName: string): string {
  return userName.normalize('NFKC').trim().toLowerCase();
}

export function contextWords(account: Pick<Account, 'userName' | 'displayName'>): string[] {
  return [account.userName, ...account.displayName.split(/\s+/)];
}

export async function getAccount(store: ResourceStore, userName: string): Promise<Account | undefined> {
  return store.records.get<Account>(ACCOUNT_KIND, accountId(userName));
}

export interface NewAccount {
  userName: string;
  displayName?: string;
  role: string;
  /** When absent, a one-time enrolment code is made instead. */
  password?: string;
  /** The person's Practitioner id, for care teams (restricted charts). */
  practitioner?: string;
}

export async function addAccount(
  store: ResourceStore,
  input: NewAccount,
  actor: Actor,
  now = Date.now(),
): Promise<{ account: AccountSummary; enrolmentCode?: string; enrolmentExpires?: string }> {
  const id = accountId(input.userName);
  if (!USER_NAME.test(id)) {
    throw new AccessError(
      `"${input.userName.slice(0, 80)}" is not a usable user name: use 2 to 64 letters, digits, dots, dashes, underscores or @, starting with a letter or digit.`,
    );
  }
  if (!isHumanRole(input.role)) {
    throw new AccessError(
      `"${input.role}" is not a role for a person; choose one of: ${HUMAN_ROLES.join(', ')}.`,
    );
  }
  const displayName = (input.displayName ?? id).trim().slice(0, 200) || id;
  let passwordHash: string | undefined;
  let enrolmentCode: string | undefined;
  let enrolment: Account['enrolment'];
  if (input.password !== undefined) {
    passwordHash = await hashNewPassword(input.password, { userName: id, displayName });
  } else {
    enrolmentCode = newEnrolmentCode();
    enrolment = { codeHash: sha256(enrolmentCode), expiresAt: now + ENROLMENT_CODE_LIFETIME_MS };
  }
  const stamp = new Date(now).toISOString();
  const account: Account = {
    userName: id,
    displayName,
    role: input.role,
    ...(input.practitioner !== undefined ? { practitioner: checkPractitionerId(input.practitioner) } : {}),
    passwordHash,
    enrolment,
    mfa: { required: true, totpConfirmed: false, recoveryCodeHashes: [] },
    disabled: false,
    created: stamp,
    changed: stamp,
    createdBy: actor.id,
  };
  await store.transaction(async (tx) => {
    if (await tx.records.get(ACCOUNT_KIND, id)) {
      throw new AccessError(`An account named ${id} already exists; pick another user name.`);
    }
    await tx.records.put(ACCOUNT_KIND, id, account);
    await recordAccessEvent(tx, {
      action: 'account-add',
      actor,
      outcome: 'success',
      target: id,
      detail: `role ${account.role}`,
    });
  });
  return {
    account: summarize(account),
    enrolmentCode,
    enrolmentExpires: enrolment ? new Date(enrolment.expiresAt).toISOString() : undefined,
  };
}

/** Checks the policy (MFA is required for people, so the 8-character minimum applies) and hashes. */
export async function hashNewPassword(
  password: string,
  account: Pick<Account, 'userName' | 'displayName'>,
): Promise<string> {
  const check = checkPassword(password, { mfa: true, contextWords: contextWords(account) });
  if (!check.ok) throw new AccessError(check.problems.join(' '));
  return hashPassword(check.normalized);
}

/** Changes one account inside a transaction; throws when it does not exist. */
export async function updateAccount(
  store: ResourceStore,
  userName: string,
  actor: Actor,
  action:
    | 'account-disable'
    | 'account-reset-mfa'
    | 'account-password'
    | 'account-mfa-enrol'
    | 'account-practitioner',
  change: (account: Account) => void,
  now = Date.now(),
): Promise<Account> {
  const id = accountId(userName);
  return store.transaction(async (tx) => {
    const account = await tx.records.get<Account>(ACCOUNT_KIND, id);
    if (!account)
      throw new AccessError(`There is no account named ${id}; see the list with: chartvault users list`);
    change(account);
    account.changed = new Date(now).toISOString();
    await tx.records.put(ACCOUNT_KIND, id, account);
    await recordAccessEvent(tx, { action, actor, outcome: 'success', target: id });
    return account;
  });
}

/** Links a person to their Practitioner resource (or unlinks, with undefined): their care teams follow. */
export async function linkPractitioner(
  store: ResourceStore,
  userName: string,
  practitioner: string | undefined,
  actor: Actor,
): Promise<AccountSummary> {
  const id = practitioner === undefined ? undefined : checkPractitionerId(practitioner);
  return summarize(
    await updateAccount(store, userName, actor, 'account-practitioner', (account) => {
      if (id === undefined) delete account.practitioner;
      else account.practitioner = id;
    }),
  );
}

function checkPractitionerId(value: string): string {
  const id = value.replace(/^Practitioner\//, '');
  if (!/^[A-Za-z0-9\-.]{1,64}$/.test(id))
    throw new AccessError(
      `"${value.slice(0, 80)}" is not a Practitioner id (1 to 64 letters, digits, '-' and '.').`,
    );
  return id;
}

/** Disabling takes effect at the next request: token and session checks read the flag every time. */
export async function disableAccount(
  store: ResourceStore,
  userName: string,
  actor: Actor,
): Promise<AccountSummary> {
  return summarize(
    await updateAccount(store, userName, actor, 'account-disable', (account) => {
      account.disabled = true;
    }),
  );
}

/** Removes the TOTP secret and recovery codes: the person enrols a new authenticator at next sign-in. */
export async function resetMfa(
  store: ResourceStore,
  userName: string,
  actor: Actor,
): Promise<AccountSummary> {
  return summarize(
    await updateAccount(store, userName, actor, 'account-reset-mfa', (account) => {
      account.mfa = { required: true, totpConfirmed: false, recoveryCodeHashes: [] };
    }),
  );
}

export async function setPassword(
  store: ResourceStore,
  userName: string,
  password: string,
  actor: Actor,
): Promise<void> {
  const account = await getAccount(store, userName);
  if (!account) throw new AccessError(`There is no account named ${accountId(userName)}.`);
  const passwordHash = await hashNewPassword(password, account);
  await updateAccount(store, userName, actor, 'account-password', (stored) => {
    stored.passwordHash = passwordHash;
    delete stored.enrolment;
  });
}

/**
 * First sign-in with the enrolment code the administrator handed over: sets the password and spends
 * the code. False for a wrong, used or expired code (the same answer for each).
 */
export async function redeemEnrolmentCode(
  store: ResourceStore,
  userName: string,
  code: string,
  newPassword: string,
  now = Date.now(),
): Promise<boolean> {
  const account = await getAccount(store, userName);
  const enrolment = account?.enrolment;
  if (!account || account.disabled || !enrolment || enrolment.expiresAt <= now) return false;
  if (!sameHash(enrolment.codeHash, sha256(code.trim()))) return false;
  const passwordHash = await hashNewPassword(newPassword, account);
  await updateAccount(
    store,
    userName,
    { kind: 'user', id: account.userName },
    'account-password',
    (stored) => {
      stored.passwordHash = passwordHash;
      delete stored.enrolment;
    },
    now,
  );
  return true;
}

export async function listAccounts(store: ResourceStore): Promise<AccountSummary[]> {
  return (await store.records.list<Account>(ACCOUNT_KIND)).map((entry) => summarize(entry.value));
}

export function summarize(account: Account, now = Date.now()): AccountSummary {
  return {
    userName: account.userName,
    displayName: account.displayName,
    role: account.role,
    ...(account.practitioner !== undefined ? { practitioner: account.practitioner } : {}),
    disabled: account.disabled,
    mfaEnrolled: account.mfa.totpConfirmed,
    passwordSet: account.passwordHash !== undefined,
    enrolmentPending: account.enrolment !== undefined && account.enrolment.expiresAt > now,
    created: account.created,
    changed: account.changed,
  };
}

/** 100 random bits, in groups a person can type: xxxxx-xxxxx-xxxxx-xxxxx (base32, lower case). */
function newEnrolmentCode(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  const bytes = randomBytes(20);
  const chars = [...bytes].map((b) => alphabet[b & 31]).join('');
  return chars.match(/.{5}/g)!.join('-');
}

/** A fast hash is enough for a random 100-bit code (unlike a password, it cannot be guessed). */
function sha256(text: string): string {
  return createHash('sha256').update(text.toLowerCase()).digest('hex');
}

function sameHash(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
