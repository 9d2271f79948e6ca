/**
 * The OAuth 2.0 token and revocation endpoints, free of HTTP: the client_credentials grant (RFC 6749
 * 4.4) for registered system clients, authenticated with client_secret_basic (RFC 6749 2.3.1) or with
 * private_key_jwt as SMART Backend Services specifies (RFC 7523: an assertion signed RS384 or ES384,
 * iss = sub = client_id, aud = this token endpoint, exp at most 5 minutes ahead, jti never used twice).
 * Errors are OAuth error objects with the status RFC 6749 5.2 gives them.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  errors as joseErrors,
  jwtVerify,
  type JWTVerifyGetKey,
} from 'jose';
import type { ResourceStore } from '../store/index.ts';
import { recordAccessEvent, type AccessEvent } from './attribution.ts';
import { clientSecretMatches, getClient, type Client } from './clients.ts';
import { parseScopes, scopeCoveredBy } from './scopes.ts';
import type { TokenService } from './tokens.ts';

export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const ASSERTION_ALGORITHMS = ['RS384', 'ES384'];
export const MAX_ASSERTION_LIFETIME_SECONDS = 300;
const USED_JTI_KIND = 'assertion-jti';

export interface OAuthResponse {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
}

export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
  ) {
    super(description);
  }

  response(): OAuthResponse {
    const headers: Record<string, string> =
      this.status === 401 ? { 'WWW-Authenticate': 'Basic realm="chartvault", charset="UTF-8"' } : {};
    return { status: this.status, body: { error: this.error, error_description: this.description }, headers };
  }
}

export interface EndpointRequest {
  form: URLSearchParams;
  /** The Authorization header, if any. */
  authorization?: string;
  /** This endpoint's absolute URL, the audience of client assertions. */
  tokenEndpointUrl: string;
  /** The FHIR base URL, the audience of the access tokens. */
  fhirBaseUrl: string;
  /** The issuer named in access tokens (this server's origin). */
  issuer: string;
  address?: string;
  now?: number;
}

export interface EndpointContext {
  store: ResourceStore;
  tokens: TokenService;
}

export async function handleTokenRequest(
  context: EndpointContext,
  request: EndpointRequest,
): Promise<OAuthResponse> {
  const now = request.now ?? Date.now();
  let client: Client | undefined;
  try {
    const grantType = single(request.form, 'grant_type');
    if (!grantType)
      throw new OAuthError(
        400,
        'invalid_request',
        'grant_type is missing; this endpoint takes grant_type=client_credentials.',
      );
    if (grantType !== 'client_credentials') {
      throw new OAuthError(
        400,
        'unsupported_grant_type',
        `grant_type ${grantType.slice(0, 60)} is not supported here; use client_credentials.`,
      );
    }
    client = await authenticateClient(context, request, now);
    if (client.redirectUris) {
      throw new OAuthError(
        400,
        'unauthorized_client',
        'This client is an app people sign in to; it uses grant_type=authorization_code, not client_credentials.',
      );
    }
    const scope = grantedScope(client, single(request.form, 'scope'));
    const issued = await context.tokens.issue({
      subject: client.clientId,
      subjectKind: 'client',
      scope,
      audience: request.fhirBaseUrl,
      issuer: request.issuer,
      now,
    });
    await audit(context.store, {
      action: 'token-issue',
      actor: { kind: 'client', id: client.clientId },
      outcome: 'success',
      address: request.address,
      detail: scope,
    });
    return { status: 200, body: { ...issued } };
  } catch (error) {
    if (!(error instanceof OAuthError)) throw error;
    const actor = {
      kind: client ? 'client' : 'anonymous',
      id: client?.clientId ?? claimedClientId(request) ?? '',
    } as const;
    await audit(context.store, {
      action: 'token-issue',
      actor,
      outcome: 'failure',
      status: error.status,
      address: request.address,
      detail: `${error.error}: ${error.description}`,
    });
    return error.response();
  }
}

/** RFC 7009: the client authenticates, and may revoke only its own tokens; 200 whatever the token was. */
export async function handleRevocationRequest(
  context: EndpointContext,
  request: EndpointRequest,
): Promise<OAuthResponse> {
  try {
    const client = await authenticateClient(context, request, request.now ?? Date.now());
    const token = single(request.form, 'token');
    if (!token)
      throw new OAuthError(
        400,
        'invalid_request',
        'token is missing: send the access token to revoke as token=...',
      );
    await context.tokens.revoke(token, client.clientId);
    await audit(context.store, {
      action: 'token-revoke',
      actor: { kind: 'client', id: client.clientId },
      outcome: 'success',
      address: request.address,
    });
    return { status: 200, body: {} };
  } catch (error) {
    if (error instanceof OAuthError) return error.response();
    throw error;
  }
}

/** One of the two methods, exactly one, or invalid_client / invalid_request. */
export async function authenticateClient(
  context: EndpointContext,
  request: EndpointRequest,
  now: number,
): Promise<Client> {
  const basic = parseBasic(request.authorization);
  const assertion = single(request.form, 'client_assertion');
  if (request.form.has('client_secret')) {
    throw new OAuthError(
      401,
      'invalid_client',
      'Send the client secret in the Authorization header (client_secret_basic), not in the form.',
    );
  }
  if (basic && assertion)
    throw new OAuthError(400, 'invalid_request', 'Use one client authentication method, not both.');
  if (basic) {
    const client = await getClient(context.store, basic.clientId);
    if (!client || client.revoked || !clientSecretMatches(client, basic.secret)) {
      throw new OAuthError(
        401,
        'invalid_client',
        'Client authentication failed: unknown client, wrong secret, or revoked client.',
      );
    }
    return client;
  }
  if (assertion) return verifyClientAssertion(context, request, assertion, now);
  throw new OAuthError(
    401,
    'invalid_client',
    'No client authentication: send HTTP Basic credentials (client_id:client_secret) or a client_assertion (private_key_jwt).',
  );
}

async function verifyClientAssertion(
  context: EndpointContext,
  request: EndpointRequest,
  assertion: string,
  now: number,
): Promise<Client> {
  if (single(request.form, 'client_assertion_type') !== JWT_BEARER_ASSERTION) {
    throw new OAuthError(400, 'invalid_request', `client_assertion_type must be ${JWT_BEARER_ASSERTION}.`);
  }
  const clientId = unverifiedIssuer(assertion);
  const client = clientId ? await getClient(context.store, clientId) : undefined;
  if (!client || client.revoked || client.auth.method !== 'private_key_jwt') {
    throw new OAuthError(
      401,
      'invalid_client',
      'Client authentication failed: unknown or revoked client, or not a private_key_jwt client.',
    );
  }
  let exp: number;
  let jti: string;
  try {
    const { payload } = await jwtVerify(assertion, keySetOf(client), {
      algorithms: ASSERTION_ALGORITHMS,
      issuer: client.clientId,
      subject: client.clientId,
      audience: request.tokenEndpointUrl,
      currentDate: new Date(now),
      requiredClaims: ['exp', 'jti'],
    });
    exp = payload.exp!;
    jti = payload.jti!;
  } catch (error) {
    throw new OAuthError(401, 'invalid_client', assertionProblem(error, request.tokenEndpointUrl));
  }
  if (exp * 1000 > now + MAX_ASSERTION_LIFETIME_SECONDS * 1000) {
    throw new OAuthError(
      401,
      'invalid_client',
      `The client assertion's exp is more than ${MAX_ASSERTION_LIFETIME_SECONDS} seconds ahead.`,
    );
  }
  // Remembered until the assertion expires; after that it is refused for being expired anyway.
  const fresh = await context.store.records.insertNew(
    USED_JTI_KIND,
    `${client.clientId} ${jti}`,
    { exp },
    { expiresAt: exp * 1000 + 60_000 },
  );
  if (!fresh)
    throw new OAuthError(
      401,
      'invalid_client',
      'This client assertion (jti) has been used before; sign a new one for each request.',
    );
  return client;
}

/** The requested scopes when the client's registration covers them all; its registered scopes when none are asked for. */
function grantedScope(client: Client, requested: string | undefined): string {
  if (requested === undefined || requested.trim() === '') return client.scopes.join(' ');
  const held = parseScopes(client.scopes.join(' ')).resourceScopes;
  const { resourceScopes, unknown } = parseScopes(requested);
  const notAllowed = [
    ...unknown,
    ...resourceScopes.filter((scope) => !scopeCoveredBy(scope, held)).map((scope) => scope.scope),
  ];
  if (notAllowed.length > 0) {
    throw new OAuthError(
      400,
      'invalid_scope',
      `Not granted to this client: ${notAllowed.slice(0, 5).join(' ').slice(0, 300)}. It is registered for: ${client.scopes.join(' ')}.`,
    );
  }
  return resourceScopes.map((scope) => scope.scope).join(' ');
}

const remoteKeySets = new Map<string, JWTVerifyGetKey>();

function keySetOf(client: Client): JWTVerifyGetKey {
  if (client.auth.method !== 'private_key_jwt') throw new Error('not a private_key_jwt client');
  if (client.auth.jwks) return createLocalJWKSet(client.auth.jwks);
  const url = client.auth.jwksUrl!;
  let keySet = remoteKeySets.get(url);
  if (!keySet) {
    keySet = createRemoteJWKSet(new URL(url), { timeoutDuration: 5000 });
    remoteKeySets.set(url, keySet);
  }
  return keySet;
}

function assertionProblem(error: unknown, tokenEndpointUrl: string): string {
  if (error instanceof joseErrors.JWTExpired) return 'The client assertion has expired.';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'aud')
      return `The client assertion's aud must be this token endpoint: ${tokenEndpointUrl}.`;
    return `The client assertion's ${error.claim} claim is not valid (iss and sub must be the client_id; exp and jti are required).`;
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed)
    return `The client assertion must be signed with ${ASSERTION_ALGORITHMS.join(' or ')}.`;
  if (error instanceof joseErrors.JWKSNoMatchingKey)
    return "No key in the client's registered JWKS matches the assertion (kid/alg).";
  if (
    error instanceof joseErrors.JWKSTimeout ||
    (error instanceof joseErrors.JOSEError && error.code === 'ERR_JOSE_GENERIC')
  ) {
    return "The client's JWKS URL could not be read.";
  }
  return 'The client assertion signature is not valid for the registered keys.';
}

function unverifiedIssuer(assertion: string): string | undefined {
  try {
    const iss = decodeJwt(assertion).iss;
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    throw new OAuthError(401, 'invalid_client', 'The client_assertion is not a JWT.');
  }
}

function claimedClientId(request: EndpointRequest): string | undefined {
  const basic = parseBasic(request.authorization, false);
  if (basic) return basic.clientId.slice(0, 100);
  try {
    const assertion = single(request.form, 'client_assertion');
    return assertion ? unverifiedIssuer(assertion)?.slice(0, 100) : undefined;
  } catch {
    return undefined;
  }
}

/** RFC 6749 2.3.1: base64 of form-urlencoded client_id ":" client_secret. */
function parseBasic(
  header: string | undefined,
  strict = true,
): { clientId: string; secret: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match) {
    if (strict && header && /^Basic\b/i.test(header))
      throw new OAuthError(401, 'invalid_client', 'The Basic credentials are not valid base64.');
    return undefined;
  }
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) {
    if (strict)
      throw new OAuthError(401, 'invalid_client', 'The Basic credentials must be client_id:client_secret.');
    return undefined;
  }
  const formDecode = (text: string) => {
    try {
      return decodeURIComponent(text.replace(/\+/g, ' '));
    } catch {
      return text;
    }
  };
  return { clientId: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
}

/** A form parameter given once; a repeated one is refused (RFC 6749 3.2). */
export function single(form: URLSearchParams, name: string): string | undefined {
  const values = form.getAll(name);
  if (values.length > 1) throw new OAuthError(400, 'invalid_request', `${name} is given more than once.`);
  return values[0];
}

async function audit(store: ResourceStore, event: AccessEvent): Promise<void> {
  // Outside any transaction: joins the store's next group commit of audit entries.
  await recordAccessEvent(store, event);
}
