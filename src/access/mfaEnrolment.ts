/**
 * Enrolling an authenticator app: a new TOTP secret is kept unconfirmed and shown as a QR code; the
 * first good code from the app confirms it and hands out the recovery codes (shown once, kept hashed).
 */
import type { ResourceStore } from '../store/index.ts';
import { AccessError } from './accessError.ts';
import { recordAccessEvent } from './attribution.ts';
import { ACCOUNT_KIND, accountId, updateAccount, type Account } from './accounts.ts';
import { enrolmentQrSvg, enrolmentUri, newRecoveryCodes, newTotpSecret, verifyTotp } from './totp.ts';

export interface TotpEnrolment {
  secret: string;
  uri: string;
  qrSvg: string;
}

export async function startTotpEnrolment(store: ResourceStore, userName: string): Promise<TotpEnrolment> {
  const secret = newTotpSecret();
  const account = await updateAccount(
    store,
    userName,
    { kind: 'user', id: accountId(userName) },
    'account-mfa-enrol',
    (stored) => {
      if (stored.mfa.totpConfirmed) {
        throw new AccessError(
          'An authenticator is already enrolled; the security officer can reset it (chartvault users reset-mfa).',
        );
      }
      stored.mfa.totpSecret = secret;
    },
  );
  return {
    secret,
    uri: enrolmentUri(secret, account.userName),
    qrSvg: await enrolmentQrSvg(secret, account.userName),
  };
}

/** Confirms the pending secret with a first code; returns the recovery codes, or undefined for a wrong code. */
export async function confirmTotpEnrolment(
  store: ResourceStore,
  userName: string,
  code: string,
  now = Date.now(),
): Promise<string[] | undefined> {
  const id = accountId(userName);
  return store.transaction(async (tx) => {
    const account = await tx.records.get<Account>(ACCOUNT_KIND, id);
    if (!account?.mfa.totpSecret || account.mfa.totpConfirmed) return undefined;
    const check = verifyTotp(account.mfa.totpSecret, code, account.mfa.lastTotpStep, now);
    if (!check.ok) return undefined;
    const { codes, hashes } = newRecoveryCodes();
    account.mfa = {
      ...account.mfa,
      totpConfirmed: true,
      lastTotpStep: check.step,
      recoveryCodeHashes: hashes,
    };
    account.changed = new Date(now).toISOString();
    await tx.records.put(ACCOUNT_KIND, id, account);
    await recordAccessEvent(tx, {
      action: 'account-mfa-enrol',
      actor: { kind: 'user', id },
      outcome: 'success',
      target: id,
      detail: 'authenticator confirmed',
    });
    return codes;
  });
}
