/**
 * Registered system clients (SMART Backend Services and scripts). Two ways to authenticate at the
 * token endpoint:
 * - client_secret_basic: a 256-bit random secret, shown once and stored as its SHA-256 hash. A slow
 *   password hash is not needed here: it protects guessable secrets chosen by people, and nobody can
 *   search 2^256 values, with or without the hash. A fast hash keeps the token endpoint cheap.
 * - private_key_jwt: the client signs an assertion with its private key; we keep only its public keys
 *   (a JWKS, or the https URL where it publishes them).
 * A revoked client cannot get tokens, and its tokens stop verifying at once (checked on every use).
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { JSONWebKeySet } from 'jose';
import type { ResourceStore } from '../store/index.ts';
import { AccessError } from './accessError.ts';
import { recordAccessEvent, type Actor } from './attribution.ts';
import { parseScopes } from './scopes.ts';

export const CLIENT_KIND = 'client';

export type ClientAuth =
  | { method: 'client_secret_basic'; secretHash: string }
  | { method: 'private_key_jwt'; jwks?: JSONWebKeySet; jwksUrl?: string }
  /** A public app (runs in a browser or on a phone, cannot keep a secret): PKCE protects its codes. */
  | { method: 'none' };

/** Non-resource scopes an app client may be registered for (SMART App Launch 2). */
export const APP_LAUNCH_SCOPES = ['launch/patient', 'offline_access', 'online_access'] as const;

export interface Client {
  clientId: string;
  name: string;
  /** The most the client may ask for (SMART scopes, system context). */
  scopes: string[];
  auth: ClientAuth;
  /** For apps that people sign in to (authorization code flow): the exact addresses codes go back to. */
  redirectUris?: string[];
  revoked: boolean;
  revokedAt?: string;
  created: string;
  createdBy: string;
}

/** What `list` shows: never the secret's hash or the keys. */
export interface ClientSummary {
  clientId: string;
  name: string;
  scopes: string[];
  authMethod: ClientAuth['method'];
  redirectUris?: string[];
  revoked: boolean;
  created: string;
  createdBy: string;
}

export interface NewClient {
  name: string;
  /** Space-separated SMART scopes, e.g. 'system/*.*' or 'system/Patient.rs system/Observation.rs'. */
  scopes: string;
  /** For private_key_jwt: the client's public keys... */
  jwks?: unknown;
  /** ...or where it publishes them (https; http only on loopback, for tests). */
  jwksUrl?: string;
  /** An app that people sign in to: the redirect URIs of its authorization code flow. */
  redirectUris?: string[];
  /** A public app client (no secret; PKCE only). Needs redirect URIs. */
  public?: boolean;
}

export async function registerClient(
  store: ResourceStore,
  input: NewClient,
  actor: Actor,
  now = Date.now(),
): Promise<{ client: ClientSummary; clientSecret?: string }> {
  const name = input.name.trim();
  if (!name || name.length > 200)
    throw new AccessError('A client needs a name (1 to 200 characters), e.g. --name lab-interface.');
  const redirectUris = (input.redirectUris ?? []).map(checkRedirectUri);
  const isApp = redirectUris.length > 0;
  if (input.public && !isApp) {
    throw new AccessError('A public client is an app people sign in to: give its --redirect-uri too.');
  }
  const scopes = checkClientScopes(input.scopes, isApp);
  if (input.jwks !== undefined && input.jwksUrl !== undefined) {
    throw new AccessError('Give either a JWKS or a JWKS URL, not both.');
  }
  if (input.public && (input.jwks !== undefined || input.jwksUrl !== undefined)) {
    throw new AccessError('A public client has no keys or secret; leave out --jwks and --jwks-url.');
  }
  let auth: ClientAuth;
  let clientSecret: string | undefined;
  if (input.public) auth = { method: 'none' };
  else if (input.jwks !== undefined) auth = { method: 'private_key_jwt', jwks: checkJwks(input.jwks) };
  else if (input.jwksUrl !== undefined)
    auth = { method: 'private_key_jwt', jwksUrl: checkJwksUrl(input.jwksUrl) };
  else {
    clientSecret = randomBytes(32).toString('base64url');
    auth = { method: 'client_secret_basic', secretHash: hashSecret(clientSecret) };
  }
  const client: Client = {
    clientId: randomUUID(),
    name,
    scopes,
    auth,
    ...(isApp ? { redirectUris } : {}),
    revoked: false,
    created: new Date(now).toISOString(),
    createdBy: actor.id,
  };
  await store.transaction(async (tx) => {
    await tx.records.put(CLIENT_KIND, client.clientId, client);
    await recordAccessEvent(tx, {
      action: 'client-add',
      actor,
      outcome: 'success',
      target: client.clientId,
      detail: `${name}: ${scopes.join(' ')} (${auth.method})`,
    });
  });
  return { client: summarizeClient(client), clientSecret };
}

export async function getClient(store: ResourceStore, clientId: string): Promise<Client | undefined> {
  return clientId ? store.records.get<Client>(CLIENT_KIND, clientId) : undefined;
}

export async function revokeClient(
  store: ResourceStore,
  clientId: string,
  actor: Actor,
  now = Date.now(),
): Promise<ClientSummary> {
  return store.transaction(async (tx) => {
    const client = await tx.records.get<Client>(CLIENT_KIND, clientId);
    if (!client)
      throw new AccessError(`There is no client ${clientId}; see the list with: chartvault clients list`);
    client.revoked = true;
    client.revokedAt = new Date(now).toISOString();
    await tx.records.put(CLIENT_KIND, clientId, client);
    await recordAccessEvent(tx, { action: 'client-revoke', actor, outcome: 'success', target: clientId });
    return summarizeClient(client);
  });
}

export async function listClients(store: ResourceStore): Promise<ClientSummary[]> {
  return (await store.records.list<Client>(CLIENT_KIND)).map((entry) => summarizeClient(entry.value));
}

export function summarizeClient(client: Client): ClientSummary {
  return {
    clientId: client.clientId,
    name: client.name,
    scopes: client.scopes,
    authMethod: client.auth.method,
    ...(client.redirectUris ? { redirectUris: client.redirectUris } : {}),
    revoked: client.revoked,
    created: client.created,
    createdBy: client.createdBy,
  };
}

/** Constant-time comparison of a presented secret with the stored hash. */
export function clientSecretMatches(client: Client, secret: string): boolean {
  if (client.auth.method !== 'client_secret_basic') return false;
  const presented = Buffer.from(hashSecret(secret), 'hex');
  const stored = Buffer.from(client.auth.secretHash, 'hex');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/**
 * Registered scopes must be SMART resource scopes: in the system context for a system client; in the
 * patient or user context for an app people sign in to, which may also ask for launch/patient and
 * offline_access or online_access.
 */
function checkClientScopes(scopeText: string, isApp = false): string[] {
  const { resourceScopes, unknown: notResource } = parseScopes(scopeText);
  const launchScopes = isApp
    ? notResource.filter((scope) => (APP_LAUNCH_SCOPES as readonly string[]).includes(scope))
    : [];
  const unknown = notResource.filter((scope) => !launchScopes.includes(scope));
  if (isApp) {
    if (unknown.length > 0) {
      throw new AccessError(
        `Not a scope an app can be registered for: ${unknown.slice(0, 3).join(', ')}. Use patient/Type.permissions or user/Type.permissions (e.g. patient/*.rs), and ${APP_LAUNCH_SCOPES.join(', ')}.`,
      );
    }
    if (resourceScopes.length === 0)
      throw new AccessError("An app needs at least one resource scope, e.g. --scopes 'patient/*.rs'.");
    const system = resourceScopes.find((scope) => scope.context === 'system');
    if (system) {
      throw new AccessError(
        `${system.scope}: an app acts for the person signed in to it; use patient/... or user/... scopes.`,
      );
    }
    return [...resourceScopes.map((scope) => scope.scope), ...launchScopes];
  }
  if (unknown.length > 0) {
    throw new AccessError(
      `Not a SMART resource scope: ${unknown.slice(0, 3).join(', ')}. Use the form system/Type.permissions, e.g. system/*.* or system/Patient.rs (v2 letters cruds, or v1 read, write, *).`,
    );
  }
  if (resourceScopes.length === 0)
    throw new AccessError("A client needs at least one scope, e.g. --scopes 'system/*.rs'.");
  const notSystem = resourceScopes.find((scope) => scope.context !== 'system');
  if (notSystem) {
    throw new AccessError(
      `${notSystem.scope}: a system client acts on its own behalf; use system/... scopes.`,
    );
  }
  return resourceScopes.map((scope) => scope.scope);
}

/** Public keys only (RSA or EC, for RS384/ES384): a private key in the file is refused, not stored. */
function checkJwks(jwks: unknown): JSONWebKeySet {
  const keys = (jwks as { keys?: unknown })?.keys;
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new AccessError('The JWKS must be a JSON object with a non-empty "keys" array of public keys.');
  }
  for (const key of keys as Record<string, unknown>[]) {
    if (key === null || typeof key !== 'object' || (key.kty !== 'RSA' && key.kty !== 'EC')) {
      throw new AccessError('Each key in the JWKS must be an RSA or EC public key (kty "RSA" or "EC").');
    }
    if ('d' in key) {
      throw new AccessError(
        'The JWKS holds a private key; register the public keys only and keep the private key with the client.',
      );
    }
  }
  return { keys: keys as JSONWebKeySet['keys'] };
}

/** An absolute https address (plain http only on loopback, for tests and desktop apps), no fragment. */
function checkRedirectUri(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new AccessError(`"${text.slice(0, 200)}" is not an absolute URL; give the app's redirect URI.`);
  }
  const loopback = ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new AccessError(
      `The redirect URI ${text.slice(0, 200)} must use https (plain http only on this machine).`,
    );
  }
  if (url.hash || text.includes('#'))
    throw new AccessError('A redirect URI must not have a fragment (#...).');
  // Kept exactly as given: the authorization request must repeat it character for character.
  return text;
}

function checkJwksUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new AccessError(
      `"${text.slice(0, 200)}" is not a URL; give the https address of the client's JWKS.`,
    );
  }
  const loopback = ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new AccessError('The JWKS URL must use https (plain http only on this machine, for testing).');
  }
  return url.href;
}
