/**
 * The sign-in page and the consent screen in a real headless Chromium: a person signs in with the
 * password and an authenticator code, an app's authorization request leads to the consent screen, and
 * the page's CSP refuses nothing (no console errors). Screenshots go to test-artifacts/sign-in.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { operatorActor, registerClient } from '../../src/access/index.ts';
import { currentCode } from '../../src/access/totp.ts';
import { artifactFolder, launchChromium } from '../browser.ts';
import { addPerson, useAccessServer } from './signInSupport.ts';

const server = useAccessServer();
const shots = artifactFolder('sign-in');
let browser: Browser | undefined;
let skipReason: string | undefined;

before(async () => {
  const launched = await launchChromium();
  if (typeof launched === 'string') skipReason = launched;
  else browser = launched;
});
after(async () => {
  await browser?.close();
});

test('a person signs in and sees the consent screen of an app', async (t) => {
  if (!browser) {
    t.skip(skipReason);
    return;
  }
  const person = await addPerson(server, 'physician', 'mreyes');
  const app = await registerClient(
    server.store,
    {
      name: 'Growth Chart',
      scopes: 'patient/*.rs user/Observation.rs launch/patient offline_access',
      redirectUris: ['http://127.0.0.1:9/callback'],
      public: true,
    },
    operatorActor(),
  );
  const page = await browser.newPage({ viewport: { width: 900, height: 760 } });
  const consoleErrors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });

  await page.goto(`${server.origin}/login`);
  assert.equal(await page.title(), 'Sign in · ChartVault');
  await page.fill('#user', person.userName);
  await page.screenshot({ path: join(shots, 'sign-in.png') });
  await page.fill('#password', person.password);
  server.clock.advance(31_000);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/login\/code$/);
  await page.fill('#code', currentCode(person.secret, server.clock.now()));
  await page.click('button[type=submit]');
  await page.waitForURL(/\/account$/);
  assert.match((await page.textContent('h1')) ?? '', /Signed in as mreyes/);

  const authorize = new URL(`${server.origin}/oauth/authorize`);
  for (const [name, value] of Object.entries({
    response_type: 'code',
    client_id: app.client.clientId,
    redirect_uri: 'http://127.0.0.1:9/callback',
    scope: 'launch/patient patient/*.rs user/Observation.rs offline_access',
    state: 'abc123',
    aud: `${server.origin}/fhir`,
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
  }))
    authorize.searchParams.set(name, value);
  await page.goto(authorize.href);
  await page.waitForURL(/\/oauth\/consent\?request=/);
  assert.match((await page.textContent('h1')) ?? '', /Allow Growth Chart/);
  await page.screenshot({ path: join(shots, 'consent.png'), fullPage: true });
  const cookies = await page.context().cookies();
  const session = cookies.find((cookie) => cookie.name === 'chartvault-session');
  assert.ok(session?.httpOnly && session.sameSite === 'Strict');
  assert.deepEqual(consoleErrors, [], 'the strict CSP refused nothing the pages need');
  await page.close();
});
