/** Real HTTP servers on 127.0.0.1 over real stores, for tests. */
import { after, before } from 'node:test';
import { buildServer } from '../src/http/server.ts';
import type { SqliteStore } from '../src/store/index.ts';
import { createTempStore, type TempStore } from './testStore.ts';

export interface TestServer {
  /** e.g. http://127.0.0.1:43123/fhir */
  base: string;
  close(): Promise<void>;
}

export async function startServer(
  store: SqliteStore,
  options: { maxBodyBytes?: number } = {},
): Promise<TestServer> {
  const app = buildServer({ store, ...options });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return { base: `${address}/fhir`, close: () => app.close() };
}

/** fetch with FHIR JSON headers; returns status, headers and the parsed body (if any). */
export async function fhirFetch(
  url: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string>; rawBody?: string } = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const headers: Record<string, string> = { accept: 'application/fhir+json', ...init.headers };
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
