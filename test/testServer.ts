/** Real HTTP servers on 127.0.0.1 over real stores, for tests. */
import { buildServer } from '../src/http/server.ts';
import type { SqliteStore } from '../src/store/index.ts';

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
