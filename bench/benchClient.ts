/**
 * Benchmarks reach /fhir as any client must: with an access token. `benchServerToken` makes one for a
 * server a benchmark builds in its own process (a registered client, a token signed with the server's
 * key); `CliClientFetch` gets one from a running `chartvault serve` for a client made with
 * `chartvault clients add`, and renews it when it expires during a long run.
 */
import { execFileSync } from 'node:child_process';
import { operatorActor, registerClient, TokenService, type TokenKeys } from '../src/access/index.ts';
import type { ResourceStore } from '../src/store/index.ts';
import { CLI } from './common.ts';

/** An hour-long `system/*.*` token for the server at `base` (its /fhir URL) signed with `keys`. */
export async function benchServerToken(store: ResourceStore, keys: TokenKeys, base: string): Promise<string> {
  const { client } = await registerClient(
    store,
    { name: 'benchmark', scopes: 'system/*.*' },
    operatorActor(),
  );
  const issued = await new TokenService(store, keys, { lifetimeSeconds: 3600 }).issue({
    subject: client.clientId,
    subjectKind: 'client',
    scope: 'system/*.*',
    audience: base,
    issuer: new URL(base).origin,
  });
  return issued.access_token;
}

export class CliClientFetch {
  private token: string | undefined;
  private readonly client: { client_id: string; client_secret: string };

  /** Registers a `system/*.*` client in the store at `data` with the CLI. */
  constructor(
    data: string,
    keys: string,
    private readonly base: string,
  ) {
    const printed = execFileSync(
      process.execPath,
      [
        CLI,
        'clients',
        'add',
        '--data',
        data,
        '--key-dir',
        keys,
        '--name',
        'benchmark',
        '--scopes',
        'system/*.*',
        '--json',
      ],
      { encoding: 'utf8' },
    );
    this.client = JSON.parse(printed) as { client_id: string; client_secret: string };
  }

  /** fetch with the client's token; a 401 (the token ran out) renews it once and tries again. */
  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    if (!this.token) await this.renew();
    const send = () =>
      fetch(url, {
        ...init,
        headers: { ...(init.headers as object), authorization: `Bearer ${this.token}` },
      });
    const response = await send();
    if (response.status !== 401) return response;
    await response.text();
    await this.renew();
    return send();
  }

  private async renew(): Promise<void> {
    const { client_id, client_secret } = this.client;
    const response = await fetch(`${new URL(this.base).origin}/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${client_id}:${client_secret}`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    });
    const body = (await response.json()) as { access_token?: string };
    if (!body.access_token) throw new Error(`no token from ${this.base}: ${JSON.stringify(body)}`);
    this.token = body.access_token;
  }
}
