/**
 * `chartvault demo` prints one staff account per role (password and TOTP secret) and a read-only
 * system client, as a newcomer uses them: a person signs in through the pages with the password and a
 * code from the secret; the client's curl line gets a token that reads but does not write; a second
 * run gives new credentials and the first ones stop working.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { currentCode } from '../../src/access/totp.ts';
import { HUMAN_ROLES } from '../../src/access/index.ts';
import { demoPractice, startServe, stopProcess } from '../cli.ts';
import { tempFolder } from '../testStore.ts';
import { TestBrowser } from './signInSupport.ts';

const folder = tempFolder('chartvault-demo-accounts-');
const data = join(folder.path, 'data');
const keys = join(folder.path, 'keys');
let first = '';
let second = '';
let served: Awaited<ReturnType<typeof startServe>> | undefined;

interface Printed {
  accounts: Map<string, { userName: string; password: string; secret: string }>;
  clientId: string;
  clientSecret: string;
}

/** The credentials as a person reads them off the demo's output. */
function credentialsIn(output: string): Printed {
  const accounts = new Map<string, { userName: string; password: string; secret: string }>();
  for (const match of output.matchAll(/^ {2}(\S+) +(demo-\S+) +(\S+) +([A-Z2-7]{16,})$/gm))
    accounts.set(match[1]!, { userName: match[2]!, password: match[3]!, secret: match[4]! });
  const client = /-u '([^:]+):([^']+)'/.exec(output);
  assert.ok(client, 'the demo prints the client line');
  return { accounts, clientId: client[1]!, clientSecret: client[2]! };
}

before(async () => {
  const made = demoPractice(data, keys, 3);
  assert.equal(made.status, 0, made.stderr);
  first = made.stdout;
  const again = demoPractice(data, keys, 3);
  assert.equal(again.status, 0, again.stderr);
  second = again.stdout;
  served = await startServe(data, keys);
});
after(async () => {
  if (served) await stopProcess(served.process);
  folder.remove();
});

test('one account per role, each with a password and a TOTP secret, and a client', () => {
  const printed = credentialsIn(second);
  assert.deepEqual([...printed.accounts.keys()].sort(), [...HUMAN_ROLES].sort());
  for (const [role, account] of printed.accounts) {
    assert.equal(account.userName, `demo-${role}`);
    assert.ok(account.password.length >= 15, `${role}: a password long enough even without MFA`);
  }
  assert.match(second, /Demo system client \(system\/\*\.rs, read and search only\)/);
});

test('a demo person signs in with the printed password and a code from the printed secret', async () => {
  const { password, secret, userName } = credentialsIn(second).accounts.get('front-desk')!;
  const origin = new URL(served!.base).origin;
  const browser = new TestBrowser(origin);
  const login = await browser.submit('/login', '/login', { user: userName, password });
  assert.equal(login.status, 303, login.text.slice(0, 300));
  assert.equal(login.location, '/login/code');
  const code = await browser.submit('/login/code', '/login/code', { code: currentCode(secret) });
  assert.equal(code.status, 303, code.text.slice(0, 300));
  assert.equal(code.location, '/account');

  // The first run's password no longer signs in: every run gives new credentials.
  const old = credentialsIn(first).accounts.get('nurse')!;
  const stale = await new TestBrowser(origin).submit('/login', '/login', {
    user: old.userName,
    password: old.password,
  });
  assert.notEqual(stale.location, '/login/code');
});

test("the client's token reads and searches but does not write; the first run's client is revoked", async () => {
  const token = async (clientId: string, clientSecret: string) =>
    fetch(`${new URL(served!.base).origin}/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    });
  const { clientId, clientSecret } = credentialsIn(second);
  const issued = (await (await token(clientId, clientSecret)).json()) as { access_token: string };
  const headers = { authorization: `Bearer ${issued.access_token}`, 'content-type': 'application/fhir+json' };
  const search = await fetch(`${served!.base}/Patient?_count=3`, { headers });
  assert.equal(search.status, 200);
  assert.equal(((await search.json()) as { entry: unknown[] }).entry.length, 3);
  const write = await fetch(`${served!.base}/Patient`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ resourceType: 'Patient' }),
  });
  assert.equal(write.status, 403);
  const earlier = credentialsIn(first);
  assert.equal((await token(earlier.clientId, earlier.clientSecret)).status, 401);
});
