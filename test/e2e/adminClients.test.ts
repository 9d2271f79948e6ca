/**
 * The security officer, signed in, registers and revokes systems from the pages (the other way in
 * besides the CLI on the server's host): the secret is shown once and gets a token; a revoked client
 * gets none; anyone else's role is refused; each change is audited under the officer's name.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addPerson, auditEntries, csrfOf, signIn, TestBrowser, useAccessServer } from './signInSupport.ts';

const server = useAccessServer();

async function tokenStatus(clientId: string, secret: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${server.origin}/oauth/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
    },
    body: 'grant_type=client_credentials',
  });
  return { status: response.status, body: await response.json() };
}

test('the security officer registers a system from the page, and revokes it', async () => {
  const officer = await addPerson(server, 'security-officer', 'officer-admin');
  const browser = new TestBrowser(server.origin);
  assert.equal((await signIn(browser, server, officer)).location, '/account');
  const account = await browser.get('/account');
  assert.match(account.text, /href="\/admin\/clients"/);

  const registered = await browser.submit('/admin/clients', '/admin/clients', {
    name: 'lab interface',
    scopes: 'system/Observation.cruds system/Patient.rs',
  });
  assert.equal(registered.status, 200, registered.text.slice(0, 300));
  const clientId = /id="client-id">([^<]+)</.exec(registered.text)![1]!;
  const secret = /id="client-secret">([^<]+)</.exec(registered.text)![1]!;
  const issued = await tokenStatus(clientId, secret);
  assert.equal(issued.status, 200);
  assert.equal(issued.body.scope, 'system/Observation.cruds system/Patient.rs');
  const listed = await browser.get('/admin/clients');
  assert.ok(listed.text.includes(clientId));
  assert.ok(!listed.text.includes(secret), 'the secret is shown once only');

  const bad = await browser.submit('/admin/clients', '/admin/clients', {
    name: 'x',
    scopes: 'everything please',
  });
  assert.equal(bad.status, 400);
  assert.match(bad.text, /class="message error"/);

  const revoked = await browser.request('/admin/clients/revoke', {
    form: { csrf: csrfOf(listed.text), client_id: clientId },
  });
  assert.equal(revoked.status, 200);
  assert.match(revoked.text, /Revoked lab interface/);
  assert.equal((await tokenStatus(clientId, secret)).status, 401);

  const entries = await auditEntries(server.store, 'client-add', 'client-revoke');
  assert.deepEqual(
    entries.map((e) => [e.action, e.agent.type, e.agent.id]),
    [
      ['client-add', 'user', 'officer-admin'],
      ['client-revoke', 'user', 'officer-admin'],
    ],
  );
});

test('other roles may not see or change the registered systems; a form without its token is refused', async () => {
  const physician = await addPerson(server, 'physician', 'doctor-admin');
  const browser = new TestBrowser(server.origin);
  assert.equal((await signIn(browser, server, physician)).location, '/account');
  const page = await browser.get('/admin/clients');
  assert.equal(page.status, 403);
  assert.match(page.text, /physician role may not search \$clients/);
  const account = await browser.get('/account');
  const post = await browser.request('/admin/clients', {
    form: { csrf: csrfOf(account.text), name: 'sneaky', scopes: 'system/*.*' },
  });
  assert.equal(post.status, 403);
  const officer = await addPerson(server, 'security-officer', 'officer-csrf');
  const officerBrowser = new TestBrowser(server.origin);
  await signIn(officerBrowser, server, officer);
  const forged = await officerBrowser.request('/admin/clients', {
    form: { csrf: 'not-the-token', name: 'forged', scopes: 'system/*.*' },
  });
  assert.equal(forged.status, 403);
  assert.match(forged.text, /form token is missing or wrong/);
});
