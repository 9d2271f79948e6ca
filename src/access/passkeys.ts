/**
 * Passkeys (WebAuthn), the phishing-resistant second factor, through @simplewebauthn/server. A person
 * signed in with their password and authenticator adds one from the account page; from then on the
 * second step of a sign-in accepts it (the authenticator app and recovery codes stay as fallbacks).
 * A passkey is bound to the host name it was made on (the RP ID): browsers offer passkeys only on a
 * host name whose certificate they trust, never on a bare IP address or the self-signed certificate
 * `chartvault init` makes, so a practice that wants them needs a host name and a trusted certificate.
 */
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransportFuture,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { isIP } from 'node:net';
import type { ResourceStore } from '../store/index.ts';
import { AccessError } from './accessError.ts';
import { ACCOUNT_KIND, accountId, type Account, type StoredPasskey } from './accounts.ts';
import { recordAccessEvent } from './attribution.ts';
import { checkSecondFactor, type LoginOptions, type SecondFactorResult } from './login.ts';

/** Where the browser is: the page's origin and its host name (the WebAuthn relying party id). */
export interface RelyingParty {
  origin: string;
  rpId: string;
}

const MAX_PASSKEYS = 10;

/** Why passkeys cannot work on this host, or undefined when they can (as far as the server can tell). */
export function passkeyObstacle(rp: RelyingParty): string | undefined {
  if (isIP(rp.rpId.replace(/^\[|\]$/g, '')) !== 0)
    return `Passkeys need a host name: browsers refuse them on an address such as ${rp.rpId}. Open ChartVault by its host name (with a certificate your browsers trust) to add one.`;
  return undefined;
}

/** How the browser is told of a passkey it may use (or must not make again). */
function descriptor(passkey: StoredPasskey) {
  return { id: passkey.id, transports: passkey.transports as AuthenticatorTransportFuture[] | undefined };
}

/** The options for the browser's `navigator.credentials.create`; the challenge goes into the session. */
export async function passkeyRegistrationOptions(
  account: Account,
  rp: RelyingParty,
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  return generateRegistrationOptions({
    rpName: 'ChartVault',
    rpID: rp.rpId,
    userName: account.userName,
    userDisplayName: account.displayName,
    userID: new TextEncoder().encode(account.userName),
    attestationType: 'none',
    excludeCredentials: (account.mfa.passkeys ?? []).map(descriptor),
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
  });
}

/** A browser's answer to a passkey form, and what it must match. */
export interface PasskeyAnswer {
  userName: string;
  /** The browser's answer as JSON text (from @simplewebauthn/browser). */
  response: string;
  /** The challenge of the page the answer came from, kept in the session. */
  expectedChallenge: string;
  rp: RelyingParty;
  address: string;
}

/** Checks the browser's answer against the session's challenge and keeps the new passkey. */
export async function addPasskey(
  store: ResourceStore,
  request: PasskeyAnswer & { now?: number },
): Promise<void> {
  const id = accountId(request.userName);
  const audit = (outcome: 'success' | 'failure', detail: string) =>
    recordAccessEvent(store, {
      action: 'account-mfa-enrol',
      actor: { kind: 'user', id },
      outcome,
      target: id,
      address: request.address,
      detail,
    });
  let verified;
  try {
    verified = await verifyRegistrationResponse({
      response: JSON.parse(request.response) as RegistrationResponseJSON,
      expectedChallenge: request.expectedChallenge,
      expectedOrigin: request.rp.origin,
      expectedRPID: request.rp.rpId,
      requireUserVerification: true,
    });
  } catch {
    verified = { verified: false as const };
  }
  if (!verified.verified) {
    await audit('failure', 'passkey not added: the browser’s answer did not verify');
    throw new AccessError('The passkey could not be checked; try again.');
  }
  const { credential } = verified.registrationInfo;
  const passkey: StoredPasskey = {
    id: credential.id,
    publicKey: Buffer.from(credential.publicKey).toString('base64url'),
    counter: credential.counter,
    transports: credential.transports,
    created: new Date(request.now ?? Date.now()).toISOString(),
    rpId: request.rp.rpId,
  };
  await store.transaction(async (tx) => {
    const account = await tx.records.get<Account>(ACCOUNT_KIND, id);
    if (!account || account.disabled) throw new AccessError('This account cannot add a passkey.');
    const passkeys = account.mfa.passkeys ?? [];
    if (passkeys.length >= MAX_PASSKEYS)
      throw new AccessError(`An account keeps at most ${MAX_PASSKEYS} passkeys.`);
    account.mfa.passkeys = [...passkeys.filter((p) => p.id !== passkey.id), passkey];
    await tx.records.put(ACCOUNT_KIND, id, account);
    await recordAccessEvent(tx, {
      action: 'account-mfa-enrol',
      actor: { kind: 'user', id },
      outcome: 'success',
      target: id,
      address: request.address,
      detail: 'passkey added',
    });
  });
}

/** The options for `navigator.credentials.get` in the second step: this account's passkeys here. */
export async function passkeySignInOptions(
  account: Account,
  rp: RelyingParty,
): Promise<PublicKeyCredentialRequestOptionsJSON | undefined> {
  const passkeys = (account.mfa.passkeys ?? []).filter((p) => p.rpId === rp.rpId);
  if (passkeys.length === 0) return undefined;
  return generateAuthenticationOptions({
    rpID: rp.rpId,
    allowCredentials: passkeys.map(descriptor),
    userVerification: 'required',
  });
}

/**
 * The second step with a passkey: the assertion must answer the session's challenge, come from this
 * origin, be signed by one of the account's passkeys, and move its counter forward (a cloned
 * authenticator replaying an old counter is refused). Throttled and audited as any second factor.
 */
export function verifyPasskeySignIn(
  store: ResourceStore,
  request: PasskeyAnswer,
  options: LoginOptions = {},
): Promise<SecondFactorResult> {
  return checkSecondFactor(store, request.userName, request.address, options, async (account) => {
    let response: AuthenticationResponseJSON;
    try {
      response = JSON.parse(request.response) as AuthenticationResponseJSON;
    } catch {
      return undefined;
    }
    const passkey = (account.mfa.passkeys ?? []).find(
      (p) => p.id === response.id && p.rpId === request.rp.rpId,
    );
    if (!passkey) return undefined;
    try {
      const result = await verifyAuthenticationResponse({
        response,
        expectedChallenge: request.expectedChallenge,
        expectedOrigin: request.rp.origin,
        expectedRPID: request.rp.rpId,
        credential: {
          id: passkey.id,
          publicKey: Buffer.from(passkey.publicKey, 'base64url'),
          counter: passkey.counter,
          transports: passkey.transports as AuthenticatorTransportFuture[] | undefined,
        },
        requireUserVerification: true,
      });
      if (!result.verified) return undefined;
      passkey.counter = result.authenticationInfo.newCounter;
      return 'passkey';
    } catch {
      return undefined;
    }
  });
}
