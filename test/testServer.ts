/**
 * Real HTTP servers on 127.0.0.1 over real stores, for tests. Each server gets its own registered
 * `system/*.*` client and a token from its token endpoint (client_credentials, client_secret_basic),
 * which `fhirFetch` sends to that server unless a test gives its own Authorization header or none.
 */
import { after, before } from 'node:test';
import { operatorActor, registerClient } from '../src/access/index.ts';
import { buildServer } from '../src/http/server.ts';
import type { SqliteStore } from '../src/store/index.ts';
import { createTempStore, type TempStore } from './testStore.ts';

export interface TestServer {
  /** e.g. http://127.0.0.1:43123/fhir */
  base: string;
  close(): Promise<void>;
}

/** Each test server's access token, by origin: what fhirFetch sends there. */
const serverTokens = new Map<string, string>();

export async function startServer(
  store: SqliteStore,
  options: { maxBodyBytes?: number } = {},
): Promise<TestServer> {
  // Tokens outlive the longest test file (the default 5 minutes would expire mid-file).
  const app = buildServer({ store, ...options, access: { tokenLifetimeSeconds: 3600 } });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  serverTokens.set(new URL(address).origin, await systemToken(store, address));
  return { base: `${address}/fhir`, close: () => app.close() };
}

/** A new `system/*.*` client of `store` and an access token for it from the server at `origin`. */
export async function systemToken(
  store: SqliteStore,
  origin: string,
  scopes = 'system/*.*',
): Promise<string> {
  const { client, clientSecret } = await registerClient(
    store,
    { name: 'test-suite', scopes },
    operatorActor(),
  );
  const response = await fetch(`${origin}/oauth/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${client.clientId}:${clientSecret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: scopes }).toString(),
  });
  const body = (await response.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`the test server gave no token: ${JSON.stringify(body)}`);
  return body.access_token;
}

/** The Authorization header for a test server's own client (for tests that call fetch themselves). */
export function authorizationFor(url: string): Record<string, string> {
  const token = serverTokens.get(new URL(url).origin);
  return token ? { authorization: `Bearer ${token}` } : {};
}

/**
 * fetch with FHIR JSON headers and the server's test token; returns status, headers and the parsed
 * body (if any). `headers: { authorization: '' }` sends no Authorization header at all.
 */
export async function fhirFetch(
  url: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string>; rawBody?: string } = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const headers: Record<string, string> = {
    accept: 'application/fhir+json',
    ...authorizationFor(url),
    ...init.headers,
  };
  if (headers.authorization === '') delete headers.authorization;
  let body: string | undefined = init.rawBody;
  if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers['content-type'] ??= 'application/fhir+json';
  }
  const response = await fetch(url, { method: init.method ?? 'GET', headers, body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

/** A test file's server: a temporary store served on 127.0.0.1, started before its tests and removed after. */
export interface ServedStore {
  readonly base: string;
  readonly store: SqliteStore;
}

/**
 * Registers `before` and `after` hooks that start a server over a new temporary store, run `setup`
 * (to add the file's fixtures), and in the end remove both.
 */
export function useTestServer(
  setup: (served: ServedStore) => Promise<void> = async () => undefined,
  options: { timeZone?: string; maxBodyBytes?: number } = {},
): ServedStore {
  let temp: TempStore | undefined;
  let server: TestServer | undefined;
  before(async () => {
    temp = createTempStore(options.timeZone);
    server = await startServer(temp.store, { maxBodyBytes: options.maxBodyBytes });
    await setup(served);
  });
  after(async () => {
    await server?.close();
    await temp?.cleanup();
  });
  const served: ServedStore = {
    get base() {
      return server!.base;
    },
    get store() {
      return temp!.store;
    },
  };
  return served;
}
