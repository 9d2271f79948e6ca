/**
 * Signing in through the pages over real HTTP on 127.0.0.1: password and TOTP, replay and recovery
 * codes, the same answer for unknown users, lockout and its release, idle and absolute timeouts (the
 * server's clock moved by the test), sign out everywhere, disabling an account mid-session, CSRF, the
 * enrolment code, authenticator set-up and the password change policy.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  addAccount,
  disableAccount,
  operatorActor,
  resetMfa,
  SIGN_IN_FAILED,
} from '../../src/access/index.ts';
import { currentCode } from '../../src/access/totp.ts';
import { escapeHtml } from '../../src/http/pages/html.ts';
import { makeSelfSignedCertificate } from '../../src/x509/serverCertificate.ts';
import { buildServer } from '../../src/http/server.ts';
import { pinnedGet } from '../httpsClient.ts';
import { createTempStore } from '../testStore.ts';
import {
  addPerson,
  auditEntries,
  csrfOf,
  MINUTE,
  signIn,
  TestBrowser,
  useAccessServer,
  type Person,
} from './signInSupport.ts';

const server = useAccessServer();
const PAGE_CSP =
  "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const shown = (text: string) => escapeHtml(text);

async function signedIn(browser: TestBrowser): Promise<boolean> {
  const page = await browser.get('/account');
  if (page.status === 200) return true;
  assert.equal(page.status, 303);
  assert.match(page.location ?? '', /^\/login\?next=/);
  return false;
}

describe('sign-in with password and TOTP', () => {
  it('signs in, sets a strict session cookie, and shows who is signed in', async () => {
    const person = await addPerson(server, 'physician');
    const browser = new TestBrowser(server.origin);
    const loginPage = await browser.get('/login');
    assert.equal(loginPage.status, 200);
    assert.equal(loginPage.headers.get('content-security-policy'), PAGE_CSP);
    assert.doesNotMatch(loginPage.text, /<script/i);
    const cookie = loginPage.headers.getSetCookie()[0] ?? '';
    // Plain HTTP on loopback: the __Host- prefix needs Secure, so the documented fallback name is used.
    assert.match(cookie, /^chartvault-session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict$/);
    const anonymousId = browser.cookies.get('chartvault-session');

    const done = await signIn(browser, server, person);
    assert.equal(done.status, 303);
    assert.equal(done.location, '/account');
    assert.notEqual(browser.cookies.get('chartvault-session'), anonymousId, 'a new session id at sign-in');
    const account = await browser.get('/account');
    assert.equal(account.status, 200);
    assert.match(account.text, new RegExp(`Signed in as ${person.userName}`));
    assert.match(account.text, /role <strong>physician<\/strong>/);
    assert.match(account.text, /\(this one\)/);

    const css = await browser.get('/static/pages.css');
    assert.equal(css.status, 200);
    assert.match(css.headers.get('content-type') ?? '', /^text\/css/);

    const audit = await auditEntries(server.store, 'login-password', 'login-second-factor', 'session-start');
    const mine = audit.filter((entry) => entry.agent.id === person.userName);
    assert.deepEqual(
      mine.map((entry) => [entry.action, entry.outcome]),
      [
        ['login-password', 'success'],
        ['login-second-factor', 'success'],
        ['session-start', 'success'],
      ],
    );
    assert.ok(!JSON.stringify(audit).includes(person.password), 'no password in the audit chain');
  });

  it('names the cookie __Host-chartvault-session and marks it Secure over HTTPS', async () => {
    const temp = createTempStore();
    const pair = await makeSelfSignedCertificate({ dns: ['localhost'], ips: ['127.0.0.1'] });
    const tls = { ...pair, fingerprint: '', validTo: new Date(), selfSigned: true, subjectAltName: '' };
    const app = buildServer({ store: temp.store, tls });
    try {
      const origin = await app.listen({ host: '127.0.0.1', port: 0 });
      const page = await pinnedGet(`${origin}/login`, pair.cert);
      assert.equal(page.status, 200);
      assert.match(
        String(page.headers['set-cookie']),
        /^__Host-chartvault-session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Secure$/,
      );
      assert.equal(page.headers['strict-transport-security'], 'max-age=31536000');
    } finally {
      await app.close();
      await temp.cleanup();
    }
  });

  it('refuses a TOTP code that was used already', async () => {
    const person = await addPerson(server, 'nurse');
    const first = new TestBrowser(server.origin);
    assert.equal((await signIn(first, server, person)).status, 303);
    const code = currentCode(person.secret, server.clock.now());
    // Same time step, same code, another browser: the password is right, the code is spent.
    const login = await new TestBrowser(server.origin);
    const afterPassword = await login.submit('/login', '/login', {
      user: person.userName,
      password: person.password,
    });
    assert.equal(afterPassword.location, '/login/code');
    const replay = await login.submit('/login/code', '/login/code', { code });
    assert.equal(replay.status, 401);
    assert.match(replay.text, /has been used already/);
    assert.equal(await signedIn(login), false);
  });

  it('takes a recovery code once', async () => {
    const person = await addPerson(server, 'billing');
    const browser = new TestBrowser(server.origin);
    const used = person.recoveryCodes[3]!;
    assert.equal((await signIn(browser, server, person, { code: used })).status, 303);
    assert.equal(await signedIn(browser), true);
    const again = new TestBrowser(server.origin);
    const second = await signIn(again, server, person, { code: used });
    assert.equal(second.status, 401);
    assert.equal(await signedIn(again), false);
  });

  it('answers an unknown user and a wrong password with the same page', async () => {
    const person = await addPerson(server, 'front-desk');
    server.clock.advance(31_000);
    const unknown = await new TestBrowser(server.origin).submit('/login', '/login', {
      user: 'nobody-here',
      password: 'some password or other',
    });
    server.clock.advance(31_000);
    const wrong = await new TestBrowser(server.origin).submit('/login', '/login', {
      user: person.userName,
      password: 'some password or other',
    });
    assert.equal(unknown.status, 401);
    assert.equal(wrong.status, 401);
    assert.ok(unknown.text.includes(shown(SIGN_IN_FAILED)));
    const strip = (text: string) => text.replace(/value="[^"]*"/g, '');
    assert.equal(strip(unknown.text), strip(wrong.text));
  });

  it('locks an account after 10 failures and releases it 15 minutes later', async () => {
    const person = await addPerson(server, 'physician');
    const browser = new TestBrowser(server.origin);
    for (let attempt = 1; attempt <= 10; attempt++) {
      server.clock.advance(31_000); // past each growing delay: only the lockout is left to stop it
      const failed = await browser.submit('/login', '/login', {
        user: person.userName,
        password: `wrong ${attempt}`,
      });
      assert.equal(failed.status, 401);
    }
    server.clock.advance(31_000);
    const locked = await browser.submit('/login', '/login', {
      user: person.userName,
      password: person.password,
    });
    assert.equal(locked.status, 401, 'the right password is refused during the lockout');
    assert.ok(locked.text.includes(shown(SIGN_IN_FAILED)));
    assert.ok(Number(locked.headers.get('retry-after')) > 60);
    server.clock.advance(15 * MINUTE);
    assert.equal((await signIn(browser, server, person)).status, 303, 'released after 15 minutes');
    const audit = await auditEntries(server.store, 'login-password');
    assert.ok(
      audit.some((entry) => entry.detail?.reason === 'locked out' && entry.detail?.user === person.userName),
    );
  });
});

describe('session lifetime', () => {
  it('ends a session after 15 minutes without a request', async () => {
    const person = await addPerson(server, 'nurse');
    const browser = new TestBrowser(server.origin);
    await signIn(browser, server, person);
    server.clock.advance(14 * MINUTE);
    assert.equal(await signedIn(browser), true, 'still there after 14 idle minutes');
    server.clock.advance(14 * MINUTE);
    assert.equal(await signedIn(browser), true, 'each request restarts the idle time');
    server.clock.advance(15 * MINUTE);
    assert.equal(await signedIn(browser), false, 'ended after 15 idle minutes');
    const ends = await auditEntries(server.store, 'session-end');
    assert.ok(
      ends.some((entry) => entry.agent.id === person.userName && entry.detail?.reason === 'idle timeout'),
    );
  });

  it('ends a busy session 12 hours after sign-in', async () => {
    const person = await addPerson(server, 'front-desk');
    const browser = new TestBrowser(server.origin);
    await signIn(browser, server, person);
    for (let minutes = 10; minutes < 12 * 60; minutes += 10) {
      server.clock.advance(10 * MINUTE);
      assert.equal(await signedIn(browser), true, `busy at ${minutes} minutes`);
    }
    server.clock.advance(10 * MINUTE);
    assert.equal(await signedIn(browser), false, 'ended at 12 hours although busy');
    const ends = await auditEntries(server.store, 'session-end');
    assert.ok(
      ends.some(
        (entry) => entry.agent.id === person.userName && entry.detail?.reason === 'absolute lifetime reached',
      ),
    );
  });

  it('signs out, and signs out everywhere', async () => {
    const person = await addPerson(server, 'physician');
    const other = await addPerson(server, 'physician');
    const [desk, laptop, colleague] = [1, 2, 3].map(() => new TestBrowser(server.origin));
    await signIn(desk!, server, person);
    await signIn(laptop!, server, person);
    await signIn(colleague!, server, other);
    const account = await desk!.get('/account');
    assert.equal(account.text.match(/<tr>\s*<td>/g)?.length, 2, 'both sessions of the account are listed');

    const out = await laptop!.request('/logout', {
      form: { csrf: csrfOf((await laptop!.get('/account')).text) },
    });
    assert.equal(out.location, '/login');
    assert.equal(await signedIn(laptop!), false);
    assert.equal(await signedIn(desk!), true, 'signing out ends one session');

    await signIn(laptop!, server, person);
    const everywhere = await desk!.request('/logout/everywhere', {
      form: { csrf: csrfOf((await desk!.get('/account')).text) },
    });
    assert.equal(everywhere.status, 303);
    assert.equal(await signedIn(desk!), false);
    assert.equal(await signedIn(laptop!), false);
    assert.equal(await signedIn(colleague!), true, "another person's session stays");
  });

  it('ends a live session at once when the account is disabled', async () => {
    const person = await addPerson(server, 'billing');
    const browser = new TestBrowser(server.origin);
    await signIn(browser, server, person);
    assert.equal(await signedIn(browser), true);
    await disableAccount(server.store, person.userName, operatorActor());
    assert.equal(await signedIn(browser), false, 'the next request finds the account disabled');
    const ends = await auditEntries(server.store, 'session-end');
    assert.ok(
      ends.some((entry) => entry.agent.id === person.userName && entry.detail?.reason === 'account disabled'),
    );
    server.clock.advance(31_000);
    const again = await browser.submit('/login', '/login', {
      user: person.userName,
      password: person.password,
    });
    assert.equal(again.status, 401);
  });
});

describe('CSRF', () => {
  it('refuses a form without its token, with a wrong one, or from another site', async () => {
    const person = await addPerson(server, 'nurse');
    const browser = new TestBrowser(server.origin);
    await signIn(browser, server, person);
    const csrf = csrfOf((await browser.get('/account')).text);
    const missing = await browser.request('/logout', { form: {} });
    const wrong = await browser.request('/logout', {
      form: { csrf: csrf.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) },
    });
    const otherOrigin = await browser.request('/logout', {
      form: { csrf },
      headers: { origin: 'https://evil.example' },
    });
    const crossSite = await browser.request('/logout', {
      form: { csrf },
      headers: { 'sec-fetch-site': 'cross-site' },
    });
    for (const refused of [missing, wrong, otherOrigin, crossSite]) {
      assert.equal(refused.status, 403);
      assert.match(refused.text, /Form refused/);
    }
    // Another session's token does not do either.
    const stranger = new TestBrowser(server.origin);
    const strangerToken = csrfOf((await stranger.get('/login')).text);
    assert.equal((await browser.request('/logout', { form: { csrf: strangerToken } })).status, 403);
    assert.equal(await signedIn(browser), true, 'none of them signed the person out');
    const sameSite = await browser.request('/logout', {
      form: { csrf },
      headers: { origin: server.origin, 'sec-fetch-site': 'same-origin' },
    });
    assert.equal(sameSite.status, 303);
    assert.equal(await signedIn(browser), false);
  });

  it('refuses a sign-in form without a token', async () => {
    const person = await addPerson(server, 'nurse');
    const browser = new TestBrowser(server.origin);
    await browser.get('/login');
    const refused = await browser.request('/login', {
      form: { user: person.userName, password: person.password },
    });
    assert.equal(refused.status, 403);
  });
});

describe('enrolment and password change', () => {
  it('sets the first password with the enrolment code, then the authenticator, then shows 10 recovery codes once', async () => {
    const { enrolmentCode } = await addAccount(
      server.store,
      { userName: 'officer1', role: 'security-officer', displayName: 'Dana Officer' },
      operatorActor(),
    );
    assert.ok(enrolmentCode);
    const browser = new TestBrowser(server.origin);
    const good = 'tangerine rowboat glacier';
    const wrongCode = await browser.submit('/enrol', '/enrol', {
      user: 'officer1',
      code: 'aaaaa-bbbbb-ccccc-ddddd',
      password: good,
      confirm: good,
    });
    assert.equal(wrongCode.status, 401);
    assert.match(wrongCode.text, /enrolment code is not right/);
    const weak = await browser.submit('/enrol', '/enrol', {
      user: 'officer1',
      code: enrolmentCode,
      password: 'password1',
      confirm: 'password1',
    });
    assert.equal(weak.status, 400);
    assert.match(weak.text, /common|breached|blocklist/i);
    const mismatch = await browser.submit('/enrol', '/enrol', {
      user: 'officer1',
      code: enrolmentCode,
      password: good,
      confirm: `${good}x`,
    });
    assert.match(mismatch.text, /differ/);

    const set = await browser.submit('/enrol', '/enrol', {
      user: 'officer1',
      code: enrolmentCode,
      password: good,
      confirm: good,
    });
    assert.equal(set.status, 303);
    assert.equal(set.location, '/mfa/enrol');
    const enrolPage = await browser.get('/mfa/enrol');
    assert.equal(enrolPage.status, 200);
    assert.match(enrolPage.text, /<svg[^>]*>/, 'the QR code is inline SVG');
    const secret = /<p class="secret">([A-Z2-7 ]+)<\/p>/.exec(enrolPage.text)![1]!.replace(/ /g, '');
    const wrongFirst = await browser.request('/mfa/enrol', {
      form: { csrf: csrfOf(enrolPage.text), code: '000000' },
    });
    assert.equal(wrongFirst.status, 400);
    const confirmed = await browser.request('/mfa/enrol', {
      form: { csrf: csrfOf(enrolPage.text), code: currentCode(secret, server.clock.now()) },
    });
    assert.equal(confirmed.status, 200);
    const codes = [
      ...confirmed.text.matchAll(/<li>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})<\/li>/g),
    ];
    assert.equal(codes.length, 10, 'ten recovery codes');
    assert.equal(await signedIn(browser), true);
    const account = await browser.get('/account');
    assert.match(account.text, /Everyone signed in now/, 'the security officer sees who is signed in');

    // The code is spent: a second use is refused.
    const reuse = await new TestBrowser(server.origin).submit('/enrol', '/enrol', {
      user: 'officer1',
      code: enrolmentCode,
      password: good,
      confirm: good,
    });
    assert.equal(reuse.status, 401);
    // After a reset, the next sign-in goes to the authenticator set-up again.
    await resetMfa(server.store, 'officer1', operatorActor());
    const later = new TestBrowser(server.origin);
    server.clock.advance(31_000);
    const password = await later.submit('/login', '/login', { user: 'officer1', password: good });
    assert.equal(password.location, '/mfa/enrol');
    const audit = await auditEntries(server.store, 'enrolment-code');
    assert.deepEqual(
      audit.map((entry) => entry.outcome),
      ['failure', 'success', 'failure'],
    );
    assert.ok(!JSON.stringify(audit).includes(enrolmentCode), 'no code in the audit chain');
  });

  it('changes the password under the policy and signs out the other sessions', async () => {
    const person: Person = await addPerson(server, 'physician');
    const browser = new TestBrowser(server.origin);
    const otherDevice = new TestBrowser(server.origin);
    await signIn(browser, server, person);
    await signIn(otherDevice, server, person);
    const change = (current: string, password: string, confirm = password) =>
      browser.submit('/password', '/password', { current, password, confirm });

    const wrongCurrent = await change('not my password at all', 'violet canyon meadow');
    assert.equal(wrongCurrent.status, 401);
    assert.match(wrongCurrent.text, /current password is not right/);
    const short = await change(person.password, 'abc1234');
    assert.equal(short.status, 400);
    assert.match(short.text, /7 characters; it needs at least 8/);
    const common = await change(person.password, 'iloveyou123');
    assert.equal(common.status, 400);
    assert.match(common.text, /common|breached|blocklist/i);
    const differ = await change(person.password, 'violet canyon meadow', 'violet canyon meadows');
    assert.match(differ.text, /differ/);

    const changed = await change(person.password, 'violet canyon meadow');
    assert.equal(changed.status, 303);
    assert.equal(changed.location, '/account?changed=password');
    assert.equal(await signedIn(browser), true, 'this session stays');
    assert.equal(await signedIn(otherDevice), false, 'the other session ends');
    const fresh = new TestBrowser(server.origin);
    const withNew = await signIn(fresh, server, { ...person, password: 'violet canyon meadow' });
    assert.equal(withNew.status, 303);
  });
});
