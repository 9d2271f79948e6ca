/**
 * Passkeys in a real headless Chromium with a virtual authenticator (Chrome DevTools Protocol): a
 * person signed in with password and authenticator code adds a passkey from the account page, then
 * signs in with password and passkey; a forged answer is refused; on a bare IP address the page says
 * passkeys need a host name. The pages load only their own scripts (CSP), with no console errors.
 * Screenshots go to test-artifacts/passkeys.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { getAccount } from '../../src/access/index.ts';
import { currentCode } from '../../src/access/totp.ts';
import { artifactFolder, launchChromium } from '../browser.ts';
import {
  addPerson,
  auditEntries,
  signIn,
  TestBrowser,
  useAccessServer,
  type Person,
} from './signInSupport.ts';

const server = useAccessServer();
const shots = artifactFolder('passkeys');
let browser: Browser | undefined;
let skipReason: string | undefined;
let context: BrowserContext;
let page: Page;
let person: Person;
const consoleErrors: string[] = [];

/** The server by host name: browsers allow WebAuthn on localhost over plain HTTP, never on an IP. */
const localhost = (path: string) => `${server.origin.replace('127.0.0.1', 'localhost')}${path}`;

async function signInWithPassword(): Promise<void> {
  server.clock.advance(31_000);
  await page.goto(localhost('/login'));
  await page.fill('#user', person.userName);
  await page.fill('#password', person.password);
  await Promise.all([page.waitForURL(/\/login\/code$/), page.click('button[type=submit]')]);
}

describe('passkeys', () => {
  before(async () => {
    const launched = await launchChromium();
    if (typeof launched === 'string') {
      skipReason = launched;
      return;
    }
    browser = launched;
    person = await addPerson(server, 'physician', 'passkey-user');
    context = await browser.newContext();
    page = await context.newPage();
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
  });
  after(async () => {
    await browser?.close();
  });

  it('a signed-in person adds a passkey from the account page', async (t) => {
    if (!browser) return t.skip(skipReason);
    await signInWithPassword();
    await page.fill('#code', currentCode(person.secret, server.clock.now()));
    await Promise.all([page.waitForURL(/\/account$/), page.click('form[action="/login/code"] button')]);
    await page.click('a[href="/mfa/passkey"]');
    await page.waitForSelector('form[data-passkey=create]');
    await page.screenshot({ path: join(shots, '1-add-passkey.png'), fullPage: true });
    await Promise.all([
      page.waitForURL(/\/account\?changed=passkey$/),
      page.click('form[data-passkey=create] button'),
    ]);
    assert.match(await page.innerText('main'), /Your passkey has been added/);
    assert.match(await page.innerText('main'), /1 on this account/);
    const account = await getAccount(server.store, person.userName);
    assert.equal(account!.mfa.passkeys?.length, 1);
    assert.equal(account!.mfa.passkeys![0]!.rpId, 'localhost');
    const added = await auditEntries(server.store, 'account-mfa-enrol');
    assert.ok(added.some((e) => e.outcome === 'success' && e.detail.reason === 'passkey added'));
  });

  it('the next sign-in takes the passkey as its second step', async (t) => {
    if (!browser) return t.skip(skipReason);
    await Promise.all([page.waitForURL(/\/login/), page.click('form[action="/logout"] button')]);
    await signInWithPassword();
    assert.match(await page.innerText('main'), /Use your passkey/);
    await page.screenshot({ path: join(shots, '2-second-step.png'), fullPage: true });
    await Promise.all([page.waitForURL(/\/account$/), page.click('form[data-passkey=get] button')]);
    const [latest] = (await auditEntries(server.store, 'login-second-factor')).slice(-1);
    assert.deepEqual([latest.outcome, latest.detail.reason], ['success', 'passkey']);
    const account = await getAccount(server.store, person.userName);
    assert.ok(account!.mfa.passkeys![0]!.counter >= 0);
  });

  it('a forged or replayed answer is refused and counted as a failed second step', async (t) => {
    if (!browser) return t.skip(skipReason);
    await Promise.all([page.waitForURL(/\/login/), page.click('form[action="/logout"] button')]);
    await signInWithPassword();
    // The browser's genuine answer, kept, then a forged one sent in its place.
    const genuine = await page.$eval('form[data-passkey=get]', async (form: any) => {
      const optionsJSON = JSON.parse(form.dataset.options);
      const answer = await (globalThis as any).SimpleWebAuthnBrowser.startAuthentication({ optionsJSON });
      return JSON.stringify(answer);
    });
    const forged = JSON.parse(genuine);
    forged.response.signature = Buffer.from('not a signature').toString('base64url');
    const submit = (response: string) =>
      page.$eval(
        'form[data-passkey=get]',
        (form: any, value: string) => {
          form.elements.namedItem('response').value = value;
          form.submit();
        },
        response,
      );
    await Promise.all([page.waitForLoadState('load'), submit(JSON.stringify(forged))]);
    await page.waitForSelector('.message.error');
    assert.match(await page.innerText('.message.error'), /not right|did not work|second step/i);
    // The genuine answer was for the challenge of the page before: it is spent.
    await Promise.all([page.waitForLoadState('load'), submit(genuine)]);
    await page.waitForSelector('.message.error');
    assert.match(page.url(), /\/login\/passkey$/);
    const failures = (await auditEntries(server.store, 'login-second-factor')).filter(
      (e) => e.outcome === 'failure',
    );
    assert.ok(failures.length >= 2);
    // The refused answers are 401 pages (the browser logs those); nothing else may appear.
    const unexpected = consoleErrors.filter((text) => !/status of 401/.test(text));
    assert.deepEqual(unexpected, [], 'no CSP violation or script error on the pages');
  });

  it('on a bare IP address the page says passkeys need a host name, and offers no form', async () => {
    const viaIp = new TestBrowser(server.origin);
    const other = await addPerson(server, 'nurse', 'passkey-ip');
    const signedIn = await signIn(viaIp, server, other);
    assert.equal(signedIn.location, '/account');
    const passkeyPage = await viaIp.get('/mfa/passkey');
    assert.equal(passkeyPage.status, 200);
    assert.match(passkeyPage.text, /Passkeys need a host name/);
    assert.doesNotMatch(passkeyPage.text, /data-passkey|<script/);
    assert.doesNotMatch(passkeyPage.headers.get('content-security-policy')!, /script-src/);
  });
});
