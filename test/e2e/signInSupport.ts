/**
 * For the sign-in and SMART tests: a server on 127.0.0.1 with a clock the test moves, a small browser
 * (fetch with a cookie jar, redirects not followed, so each step can be checked), and people with a
 * password and an enrolled authenticator.
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import {
  addAccount,
  confirmTotpEnrolment,
  ephemeralTokenKeys,
  operatorActor,
  startTotpEnrolment,
  type TokenKeys,
} from '../../src/access/index.ts';
import type { SessionPolicy } from '../../src/access/sessions.ts';
import { currentCode } from '../../src/access/totp.ts';
import { buildServer } from '../../src/http/server.ts';
import type { SqliteStore } from '../../src/store/index.ts';
import { createTempStore, type TempStore } from '../testStore.ts';

export const MINUTE = 60_000;

/** A clock that starts now (records expire by the real clock, so it never goes back) and moves on demand. */
export class TestClock {
  private time = Date.now();
  now = (): number => this.time;
  advance(ms: number): void {
    this.time += ms;
  }
}

export interface AccessServer {
  readonly origin: string;
  readonly store: SqliteStore;
  readonly clock: TestClock;
  readonly keys: TokenKeys;
  /** The store's folders, for the CLI. */
  readonly dataDir: string;
  readonly keyDir: string;
}

/** Registers hooks that serve a new store with a test clock for the file's tests, and remove it after. */
export function useAccessServer(options: { sessionPolicy?: SessionPolicy } = {}): AccessServer {
  let temp: TempStore | undefined;
  let close: (() => Promise<unknown>) | undefined;
  let origin = '';
  const clock = new TestClock();
  const keys = ephemeralTokenKeys();
  before(async () => {
    temp = createTempStore();
    const app = buildServer({
      store: temp.store,
      tokenKeys: keys,
      access: { clock: clock.now, sessionPolicy: options.sessionPolicy },
    });
    origin = await app.listen({ host: '127.0.0.1', port: 0 });
    close = () => app.close();
  });
  after(async () => {
    await close?.();
    await temp?.cleanup();
  });
  return {
    get origin() {
      return origin;
    },
    get store() {
      return temp!.store;
    },
    get dataDir() {
      return temp!.dataDir;
    },
    get keyDir() {
      return temp!.keyDir;
    },
    clock,
    keys,
  };
}

export interface PageResponse {
  status: number;
  headers: Headers;
  location?: string;
  text: string;
}

/** One browser: its own cookies, forms posted like a browser posts them. */
export class TestBrowser {
  readonly cookies = new Map<string, string>();
  constructor(readonly origin: string) {}

  async request(
    path: string,
    init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {},
  ): Promise<PageResponse> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.cookies.size > 0)
      headers.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const url = path.startsWith('http') ? path : `${this.origin}${path}`;
    const response = await fetch(url, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      headers,
      body,
      redirect: 'manual',
    });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const [name, ...value] = pair!.split('=');
      if (/Max-Age=0/i.test(cookie)) this.cookies.delete(name!.trim());
      else this.cookies.set(name!.trim(), value.join('='));
    }
    return {
      status: response.status,
      headers: response.headers,
      location: response.headers.get('location') ?? undefined,
      text: await response.text(),
    };
  }

  get(path: string): Promise<PageResponse> {
    return this.request(path);
  }

  /** Loads the page at `pagePath`, then posts `form` with the page's CSRF token to `action`. */
  async submit(pagePath: string, action: string, form: Record<string, string>): Promise<PageResponse> {
    const page = await this.get(pagePath);
    assert.equal(page.status, 200, `GET ${pagePath} answered ${page.status}: ${page.text.slice(0, 200)}`);
    return this.request(action, { form: { csrf: csrfOf(page.text), ...form } });
  }
}

export function csrfOf(html: string): string {
  const match = /name="csrf" value="([^"]+)"/.exec(html);
  assert.ok(match, 'the page has a CSRF token');
  return match[1]!;
}

export interface Person {
  userName: string;
  password: string;
  secret: string;
  recoveryCodes: string[];
}

let people = 0;

/** An account with a password and a confirmed authenticator (enrolled as the pages would). */
export async function addPerson(
  server: AccessServer,
  role: string,
  name = `person${++people}`,
): Promise<Person> {
  const password = `quiet harbour lantern ${people * 7919}`;
  await addAccount(server.store, { userName: name, role, password }, operatorActor());
  const { secret } = await startTotpEnrolment(server.store, name);
  const codes = await confirmTotpEnrolment(
    server.store,
    name,
    currentCode(secret, server.clock.now()),
    server.clock.now(),
  );
  assert.ok(codes);
  return { userName: name, password, secret, recoveryCodes: codes };
}

/**
 * Signs in through the pages: password, then a code (a new TOTP step each time, since a code is good
 * only once). Returns the last response, a redirect to `next` or /account on success.
 */
export async function signIn(
  browser: TestBrowser,
  server: AccessServer,
  person: Person,
  options: { code?: string; next?: string } = {},
): Promise<PageResponse> {
  // A fresh TOTP step, and past any throttling delay of earlier failures at this address.
  server.clock.advance(31_000);
  const login = await browser.submit(
    options.next ? `/login?next=${encodeURIComponent(options.next)}` : '/login',
    '/login',
    { user: person.userName, password: person.password, ...(options.next ? { next: options.next } : {}) },
  );
  assert.equal(login.status, 303, `password step: ${login.text.slice(0, 300)}`);
  assert.equal(login.location, '/login/code');
  return browser.submit('/login/code', '/login/code', {
    code: options.code ?? currentCode(person.secret, server.clock.now()),
  });
}

/** The audit entries (parsed) with one of these actions. */
export async function auditEntries(store: SqliteStore, ...actions: string[]): Promise<any[]> {
  return (await store.auditEntriesAfter(0, 1_000_000))
    .map((record) => JSON.parse(record.entry))
    .filter((entry) => actions.includes(entry.action));
}
