/**
 * The SMART App Launch 2 authorization code flow (standalone launch), free of HTTP:
 * 1. `startAuthorization` checks an authorization request (registered client, redirect_uri exactly as
 *    registered, response_type=code, PKCE with S256 only, aud = this FHIR base URL, scopes within the
 *    client's registration) and keeps it server-side for the consent screen;
 * 2. `planConsent` turns the requested scopes into what the signed-in person's role allows (the same
 *    `decide` as everywhere else), in plain words;
 * 3. `approveAuthorization` / `denyAuthorization` answer the app through its redirect_uri; an approval
 *    carries a code that is single-use, valid 60 seconds and bound to the client, the redirect_uri and
 *    the PKCE challenge;
 * 4. `handleAppTokenRequest` exchanges the code (code_verifier checked) or a rotating refresh token
 *    for an access token whose `sub` is the person.
 * Codes, refresh tokens and requests are kept as hashes or random ids; nothing secret goes to the audit.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ResourceStore } from '../store/index.ts';
import { ACCOUNT_KIND, accountId, type Account } from './accounts.ts';
import { recordAccessEvent, type AccessEvent } from './attribution.ts';
import { getClient, type Client } from './clients.ts';
import { CATEGORY_TYPES, decide, type Interaction } from './permissions.ts';
import { issueRefreshToken, revokeRefreshFamily, rotateRefreshToken } from './refreshTokens.ts';
import type { HumanRole } from './roles.ts';
import { parseScope, parseScopes, scopeCoveredBy, type ParsedScope } from './scopes.ts';
import {
  authenticateClient,
  OAuthError,
  single,
  type EndpointContext,
  type EndpointRequest,
  type OAuthResponse,
} from './tokenEndpoint.ts';

export const AUTHORIZATION_REQUEST_KIND = 'authorization-request';
export const AUTHORIZATION_CODE_KIND = 'authorization-code';
export const CODE_LIFETIME_MS = 60_000;
/** How long a person has to sign in and answer the consent screen. */
export const REQUEST_LIFETIME_MS = 10 * 60_000;
/** A spent code is remembered this long, so that a second use is recognised (and revokes its tokens). */
const SPENT_CODE_MEMORY_MS = 10 * 60_000;

/** Scopes an app may ask for besides resource scopes; openid and fhirUser are accepted but not granted. */
const LAUNCH_SCOPES = new Set(['launch/patient', 'offline_access', 'online_access']);
const IGNORED_SCOPES = new Set(['openid', 'fhirUser', 'profile']);

export interface AuthorizationRequest {
  clientId: string;
  clientName: string;
  redirectUri: string;
  scope: string;
  state?: string;
  codeChallenge: string;
  created: number;
}

export type AuthorizeOutcome =
  | { ok: true; requestId: string }
  /** The client or redirect_uri is wrong: nothing may be sent to the redirect_uri (RFC 6749 4.1.2.1). */
  | { ok: false; showError: string }
  | { ok: false; redirect: string; error: string; description: string };

export async function startAuthorization(
  store: ResourceStore,
  params: URLSearchParams,
  fhirBaseUrl: string,
  now: number,
): Promise<AuthorizeOutcome> {
  const once = (name: string) => {
    const values = params.getAll(name);
    return values.length === 1 ? values[0] : values.length === 0 ? undefined : null;
  };
  const clientId = once('client_id');
  const redirectUri = once('redirect_uri');
  if (!clientId) return { ok: false, showError: 'The app did not say which app it is (client_id).' };
  const client = await getClient(store, clientId);
  if (!client || client.revoked || !client.redirectUris) {
    return {
      ok: false,
      showError:
        'This app is not registered here, or it has been revoked. Ask the security officer to register it (chartvault clients add --redirect-uri ...).',
    };
  }
  if (!redirectUri || !client.redirectUris.includes(redirectUri)) {
    return {
      ok: false,
      showError:
        'The app asked to send the answer to an address it has not registered (redirect_uri); nothing was sent.',
    };
  }
  const state = once('state');
  const fail = (error: string, description: string): AuthorizeOutcome => ({
    ok: false,
    error,
    description,
    redirect: withParameters(redirectUri, {
      error,
      error_description: description,
      ...(typeof state === 'string' ? { state } : {}),
    }),
  });
  for (const name of ['response_type', 'scope', 'state', 'aud', 'code_challenge', 'code_challenge_method']) {
    if (once(name) === null) return fail('invalid_request', `${name} is given more than once.`);
  }
  if (once('response_type') !== 'code')
    return fail('unsupported_response_type', 'Only response_type=code is supported.');
  const method = once('code_challenge_method');
  const challenge = once('code_challenge');
  if (method !== 'S256' || !challenge) {
    return fail(
      'invalid_request',
      method === 'plain'
        ? 'PKCE method plain is refused; use code_challenge_method=S256.'
        : 'PKCE is required: send code_challenge with code_challenge_method=S256.',
    );
  }
  if (!/^[A-Za-z0-9_-]{43}$/.test(challenge))
    return fail('invalid_request', 'code_challenge must be the base64url SHA-256 of the code_verifier.');
  const aud = once('aud');
  if (aud !== fhirBaseUrl)
    return fail('invalid_request', `aud must be this server's FHIR base URL: ${fhirBaseUrl}`);
  const scope = once('scope') ?? '';
  const scopeProblem = checkRequestedScopes(client, scope);
  if (scopeProblem) return fail('invalid_scope', scopeProblem);
  const requestId = randomBytes(24).toString('base64url');
  const request: AuthorizationRequest = {
    clientId: client.clientId,
    clientName: client.name,
    redirectUri,
    scope,
    ...(typeof state === 'string' ? { state } : {}),
    codeChallenge: challenge,
    created: now,
  };
  await store.records.put(AUTHORIZATION_REQUEST_KIND, requestId, request, {
    expiresAt: now + REQUEST_LIFETIME_MS,
  });
  return { ok: true, requestId };
}

/** The pending request, while it is still good. */
export async function getAuthorizationRequest(
  store: ResourceStore,
  requestId: string,
  now: number,
): Promise<AuthorizationRequest | undefined> {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(requestId)) return undefined;
  const request = await store.records.get<AuthorizationRequest>(AUTHORIZATION_REQUEST_KIND, requestId);
  return request && now < request.created + REQUEST_LIFETIME_MS ? request : undefined;
}

function checkRequestedScopes(client: Client, scope: string): string | undefined {
  const words = scope.split(/\s+/).filter(Boolean);
  const registered = parseScopes(client.scopes.join(' ')).resourceScopes;
  const refused: string[] = [];
  let resources = 0;
  for (const word of words) {
    if (LAUNCH_SCOPES.has(word) || IGNORED_SCOPES.has(word)) continue;
    const parsed = parseScope(word);
    if (!parsed || parsed.context === 'system' || !scopeCoveredBy(parsed, registered)) refused.push(word);
    else resources += 1;
  }
  if (refused.length > 0) {
    return `Not granted to this app: ${refused.slice(0, 5).join(' ').slice(0, 300)}. It is registered for: ${client.scopes.join(' ')}.`;
  }
  if (resources === 0) return 'Ask for at least one resource scope, e.g. patient/*.rs.';
  return undefined;
}

// ---- The consent screen: what the role allows, in plain words ----

export interface ConsentPlan {
  /** What will be granted, each with a sentence for the consent screen. */
  granted: { scope: string; words: string }[];
  /** Requested but not granted: the role does not allow any of it. */
  refused: { scope: string; words: string }[];
  /** A `patient/` scope or launch/patient: the person picks the patient. */
  needsPatient: boolean;
  /** offline_access or online_access: the app gets a refresh token. */
  refresh: boolean;
  /** The scope string of the token. */
  scope: string;
}

const LETTERS = ['c', 'r', 'u', 'd', 's'] as const;
const LETTER_INTERACTION: Record<(typeof LETTERS)[number], Interaction> = {
  c: 'create',
  r: 'read',
  u: 'update',
  d: 'delete',
  s: 'search',
};
const LETTER_WORDS: Record<(typeof LETTERS)[number], string> = {
  c: 'create',
  r: 'read',
  u: 'change',
  d: 'delete',
  s: 'search',
};
/** One type per category stands for `*`: the role allows a letter on `*` when it allows it on some type. */
const REPRESENTATIVE_TYPES = Object.entries(CATEGORY_TYPES)
  .filter(([category]) => category !== 'administration')
  .map(([, types]) => types[0]!);

/** The requested scopes narrowed to what `role` allows (decide()), as SMART v2 scopes where narrowed. */
export function planConsent(role: HumanRole, requestedScope: string): ConsentPlan {
  const words = requestedScope.split(/\s+/).filter(Boolean);
  const plan: ConsentPlan = {
    granted: [],
    refused: [],
    needsPatient: words.includes('launch/patient'),
    refresh: words.includes('offline_access') || words.includes('online_access'),
    scope: '',
  };
  const principal = { kind: 'user' as const, id: '', role };
  for (const word of words) {
    const parsed = parseScope(word);
    if (!parsed || parsed.context === 'system') continue;
    const asked = lettersOf(parsed);
    const types = parsed.resourceType === '*' ? REPRESENTATIVE_TYPES : [parsed.resourceType];
    const allowed = asked.filter((letter) =>
      types.some((type) => decide(principal, LETTER_INTERACTION[letter], type).allowed),
    );
    if (parsed.context === 'patient') plan.needsPatient = true;
    if (allowed.length === 0) {
      plan.refused.push({ scope: word, words: describe(parsed, asked) });
      continue;
    }
    const scope =
      allowed.length === asked.length ? word : `${parsed.context}/${parsed.resourceType}.${allowed.join('')}`;
    plan.granted.push({ scope, words: describe(parsed, allowed) });
  }
  const extras = words.filter((word) => LAUNCH_SCOPES.has(word));
  plan.scope = [...plan.granted.map((entry) => entry.scope), ...extras].join(' ');
  return plan;
}

function lettersOf(scope: ParsedScope): (typeof LETTERS)[number][] {
  return LETTERS.filter((letter) => scope.interactions.has(LETTER_INTERACTION[letter]));
}

function describe(scope: ParsedScope, letters: (typeof LETTERS)[number][]): string {
  const verbs = letters.map((letter) => LETTER_WORDS[letter]);
  const verbText = verbs.length > 1 ? `${verbs.slice(0, -1).join(', ')} and ${verbs.at(-1)}` : verbs[0];
  const what = scope.resourceType === '*' ? 'every kind of record' : `${scope.resourceType} records`;
  const whose =
    scope.context === 'patient'
      ? 'of the patient you choose'
      : 'that you may see (any patient your role allows)';
  return `${verbText![0]!.toUpperCase()}${verbText!.slice(1)} ${what} ${whose}.`;
}

// ---- Approve or deny ----

interface StoredCode {
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  userName: string;
  scope: string;
  patient?: string;
  refresh: boolean;
  issued: number;
  spent?: number;
}

export async function approveAuthorization(
  store: ResourceStore,
  requestId: string,
  person: { userName: string; role: HumanRole },
  patient: string | undefined,
  now: number,
  address?: string,
): Promise<{ location: string } | undefined> {
  const request = await takeRequest(store, requestId, now);
  if (!request) return undefined;
  const plan = planConsent(person.role, request.scope);
  if (plan.granted.length === 0) {
    await auditConsent(store, person.userName, request, 'failure', 'nothing the role allows', address);
    return {
      location: answer(request, {
        error: 'access_denied',
        error_description: 'The signed-in person may use none of the requested scopes.',
      }),
    };
  }
  const code = randomBytes(32).toString('base64url');
  const stored: StoredCode = {
    clientId: request.clientId,
    redirectUri: request.redirectUri,
    codeChallenge: request.codeChallenge,
    userName: accountId(person.userName),
    scope: plan.scope,
    ...(plan.needsPatient && patient !== undefined ? { patient } : {}),
    refresh: plan.refresh,
    issued: now,
  };
  await store.records.put(AUTHORIZATION_CODE_KIND, hashOf(code), stored, {
    expiresAt: now + SPENT_CODE_MEMORY_MS,
  });
  await auditConsent(
    store,
    person.userName,
    request,
    'success',
    `granted ${plan.scope}${stored.patient ? ` for Patient/${stored.patient}` : ''}`,
    address,
  );
  return { location: answer(request, { code }) };
}

export async function denyAuthorization(
  store: ResourceStore,
  requestId: string,
  userName: string,
  now: number,
  address?: string,
): Promise<{ location: string } | undefined> {
  const request = await takeRequest(store, requestId, now);
  if (!request) return undefined;
  await auditConsent(store, userName, request, 'failure', 'denied by the person', address);
  return {
    location: answer(request, {
      error: 'access_denied',
      error_description: 'The person declined to authorize the app.',
    }),
  };
}

/** A request is answered once. */
async function takeRequest(
  store: ResourceStore,
  requestId: string,
  now: number,
): Promise<AuthorizationRequest | undefined> {
  const request = await getAuthorizationRequest(store, requestId, now);
  if (!request) return undefined;
  return (await store.records.delete(AUTHORIZATION_REQUEST_KIND, requestId)) ? request : undefined;
}

function answer(request: AuthorizationRequest, parameters: Record<string, string>): string {
  return withParameters(request.redirectUri, {
    ...parameters,
    ...(request.state !== undefined ? { state: request.state } : {}),
  });
}

function withParameters(uri: string, parameters: Record<string, string>): string {
  const query = new URLSearchParams(parameters).toString();
  return `${uri}${uri.includes('?') ? '&' : '?'}${query}`;
}

async function auditConsent(
  store: ResourceStore,
  userName: string,
  request: AuthorizationRequest,
  outcome: 'success' | 'failure',
  detail: string,
  address?: string,
): Promise<void> {
  await recordAccessEvent(store, {
    action: 'consent',
    actor: { kind: 'user', id: accountId(userName) },
    outcome,
    target: request.clientId,
    detail,
    address,
  });
}

// ---- The token endpoint: authorization_code and refresh_token ----

export const APP_GRANT_TYPES = ['authorization_code', 'refresh_token'];

export async function handleAppTokenRequest(
  context: EndpointContext,
  request: EndpointRequest,
): Promise<OAuthResponse> {
  const now = request.now ?? Date.now();
  let client: Client | undefined;
  const event = (fields: Partial<AccessEvent>): AccessEvent => ({
    action: 'token-issue',
    actor: client ? { kind: 'client', id: client.clientId } : { kind: 'anonymous', id: '' },
    outcome: 'failure',
    address: request.address,
    ...fields,
  });
  try {
    client = await authenticateAppClient(context, request, now);
    const grantType = single(request.form, 'grant_type');
    const grant =
      grantType === 'authorization_code'
        ? await redeemCode(context, request, client, now)
        : await redeemRefreshToken(context, request, client, now);
    const issued = await context.tokens.issue({
      subject: grant.userName,
      subjectKind: 'user',
      scope: grant.scope,
      audience: request.fhirBaseUrl,
      issuer: request.issuer,
      ...(grant.patient !== undefined ? { patient: grant.patient } : {}),
      now,
    });
    await recordAccessEvent(
      context.store,
      event({
        action: grantType === 'authorization_code' ? 'token-issue' : 'token-refresh',
        actor: { kind: 'user', id: grant.userName },
        outcome: 'success',
        target: client.clientId,
        detail: `${grantType}: ${grant.scope}${grant.refreshToken ? ' (with refresh token)' : ''}`,
      }),
    );
    return {
      status: 200,
      body: {
        ...issued,
        ...(grant.refreshToken ? { refresh_token: grant.refreshToken } : {}),
        ...(grant.patient !== undefined ? { patient: grant.patient } : {}),
      },
    };
  } catch (error) {
    if (!(error instanceof GrantRefused) && !(error instanceof OAuthError)) throw error;
    const oauthError = error instanceof GrantRefused ? error.oauthError : error;
    const refusal = error instanceof GrantRefused ? error : undefined;
    await recordAccessEvent(
      context.store,
      event({
        action: refusal?.auditAction ?? 'token-issue',
        ...(refusal?.userName ? { actor: { kind: 'user', id: refusal.userName } } : {}),
        target: client?.clientId,
        status: oauthError.status,
        detail: `${oauthError.error}: ${oauthError.description}`,
      }),
    );
    return oauthError.response();
  }
}

/** An OAuth error with what the audit entry should say about it. */
class GrantRefused extends Error {
  constructor(
    readonly oauthError: OAuthError,
    readonly auditAction: AccessEvent['action'],
    readonly userName?: string,
  ) {
    super(oauthError.description);
  }
}

interface Grant {
  userName: string;
  scope: string;
  patient?: string;
  refreshToken?: string;
}

const invalidGrant = (description: string) => new OAuthError(400, 'invalid_grant', description);

async function redeemCode(
  context: EndpointContext,
  request: EndpointRequest,
  client: Client,
  now: number,
): Promise<Grant> {
  const code = single(request.form, 'code');
  const redirectUri = single(request.form, 'redirect_uri');
  const verifier = single(request.form, 'code_verifier');
  if (!code || !redirectUri || !verifier) {
    throw new OAuthError(
      400,
      'invalid_request',
      'The authorization_code grant needs code, redirect_uri and code_verifier.',
    );
  }
  const key = hashOf(code);
  // Spent on first presentation, right or wrong: a code is never good twice.
  const found = await context.store.transaction(async (tx) => {
    const stored = await tx.records.get<StoredCode>(AUTHORIZATION_CODE_KIND, key);
    if (!stored) return undefined;
    const firstUse = stored.spent === undefined;
    if (firstUse) {
      stored.spent = now;
      await tx.records.put(AUTHORIZATION_CODE_KIND, key, stored, { expiresAt: now + SPENT_CODE_MEMORY_MS });
    }
    return { stored, firstUse };
  });
  if (!found) throw invalidGrant('The authorization code is not valid.');
  const { stored, firstUse } = found;
  if (!firstUse) {
    // RFC 6749 4.1.2: a code used twice revokes what it gave.
    await revokeRefreshFamily(context.store, key, 'authorization code used twice', now);
    throw new GrantRefused(
      invalidGrant('The authorization code has been used already.'),
      'token-issue',
      stored.userName,
    );
  }
  if (now >= stored.issued + CODE_LIFETIME_MS)
    throw invalidGrant('The authorization code has expired (codes last 60 seconds).');
  if (stored.clientId !== client.clientId)
    throw invalidGrant('The authorization code was issued to another client.');
  if (stored.redirectUri !== redirectUri)
    throw invalidGrant('redirect_uri differs from the one in the authorization request.');
  if (!verifierMatches(verifier, stored.codeChallenge))
    throw invalidGrant('The code_verifier does not match the code_challenge (PKCE S256).');
  const account = await context.store.records.get<Account>(ACCOUNT_KIND, stored.userName);
  if (!account || account.disabled) throw invalidGrant('The account that authorized the app is disabled.');
  const grant: Grant = {
    userName: stored.userName,
    scope: stored.scope,
    ...(stored.patient !== undefined ? { patient: stored.patient } : {}),
  };
  if (stored.refresh) {
    grant.refreshToken = await issueRefreshToken(
      context.store,
      { clientId: client.clientId, userName: stored.userName, scope: stored.scope, patient: stored.patient },
      key,
      now,
    );
  }
  return grant;
}

async function redeemRefreshToken(
  context: EndpointContext,
  request: EndpointRequest,
  client: Client,
  now: number,
): Promise<Grant> {
  const token = single(request.form, 'refresh_token');
  if (!token) throw new OAuthError(400, 'invalid_request', 'refresh_token is missing.');
  const result = await rotateRefreshToken(context.store, token, client.clientId, now);
  if (!result.ok) {
    const description = {
      unknown: 'The refresh token is not valid or has expired.',
      reused:
        'This refresh token has been used already; every token of this authorization is now revoked. Sign in again.',
      revoked: 'The refresh token has been revoked. Sign in again.',
      'wrong-client': 'The refresh token was issued to another client.',
      inactive: 'The account or the app has been disabled.',
    }[result.reason];
    throw new GrantRefused(
      invalidGrant(description),
      result.reason === 'reused' ? 'refresh-token-reuse' : 'token-refresh',
      result.userName,
    );
  }
  const asked = single(request.form, 'scope');
  if (asked !== undefined && asked.trim() !== '' && asked.trim() !== result.grant.scope) {
    throw new OAuthError(
      400,
      'invalid_scope',
      'A refresh gives the scopes of the authorization; leave out scope or repeat them exactly.',
    );
  }
  return { ...result.grant, refreshToken: result.refreshToken };
}

/** A public app names itself with client_id; a confidential one authenticates as at client_credentials. */
async function authenticateAppClient(
  context: EndpointContext,
  request: EndpointRequest,
  now: number,
): Promise<Client> {
  const formClientId = single(request.form, 'client_id');
  const authenticates =
    request.authorization !== undefined ||
    request.form.has('client_assertion') ||
    request.form.has('client_secret');
  let client: Client | undefined;
  if (!authenticates) {
    client = formClientId ? await getClient(context.store, formClientId) : undefined;
    if (!client || client.revoked || client.auth.method !== 'none') {
      throw new OAuthError(
        401,
        'invalid_client',
        'Client authentication failed: unknown or revoked client, or a confidential client that must authenticate (HTTP Basic).',
      );
    }
  } else {
    client = await authenticateClient(context, request, now);
    if (formClientId !== undefined && formClientId !== client.clientId)
      throw new OAuthError(401, 'invalid_client', 'client_id differs from the authenticated client.');
  }
  if (!client.redirectUris) {
    throw new OAuthError(
      400,
      'unauthorized_client',
      'This is a system client; it uses grant_type=client_credentials.',
    );
  }
  return client;
}

/** RFC 7636: verifier of 43 to 128 unreserved characters whose base64url SHA-256 is the challenge. */
function verifierMatches(verifier: string, challenge: string): boolean {
  if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier)) return false;
  const computed = Buffer.from(createHash('sha256').update(verifier).digest('base64url'));
  const expected = Buffer.from(challenge);
  return computed.length === expected.length && timingSafeEqual(computed, expected);
}

function hashOf(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** Whether an id can name a FHIR resource (the consent screen's patient field). */
export function isResourceId(id: string): boolean {
  return /^[A-Za-z0-9\-.]{1,64}$/.test(id);
}
