/**
 * The SMART App Launch authorization code flow over real HTTP on 127.0.0.1, driven by a client library
 * written by others (oauth4webapi) with PKCE: sign-in, the consent screen narrowed to the person's
 * role, the code exchanged for a person's access token and a rotating refresh token; and every
 * refusal: wrong verifier, reused or expired code, wrong redirect_uri, plain or missing PKCE, refresh
 * token reuse (which revokes the family), sign out everywhere and disabling the account.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import * as oauth from 'oauth4webapi';
import { disableAccount, operatorActor, registerClient, TokenService } from '../../src/access/index.ts';
import { chartvault } from '../cli.ts';
import { tempFolder } from '../testStore.ts';
import {
  addPerson,
  auditEntries,
  csrfOf,
  signIn,
  TestBrowser,
  useAccessServer,
  type Person,
} from './signInSupport.ts';

const server = useAccessServer();
const REDIRECT = 'http://127.0.0.1:9/callback';
const insecure = { [oauth.allowInsecureRequests]: true };

let as: oauth.AuthorizationServer;
let app: oauth.Client;
let physician: Person;
let patientId: string;

let ready: Promise<void> | undefined;
/** The app, the person and the patient, made once (after the server has started). */
const setup = () => (ready ??= makeFixtures());

async function makeFixtures(): Promise<void> {
  const registered = await registerClient(
    server.store,
    {
      name: 'Growth Chart',
      scopes: 'patient/*.rs user/*.cruds launch/patient offline_access',
      redirectUris: [REDIRECT],
      public: true,
    },
    operatorActor(),
  );
  app = { client_id: registered.client.clientId, token_endpoint_auth_method: 'none' };
  const config = await (await fetch(`${server.origin}/fhir/.well-known/smart-configuration`)).json();
  as = config as oauth.AuthorizationServer;
  physician = await addPerson(server, 'physician');
  const created = await server.store.create({ resourceType: 'Patient', name: [{ family: 'Testperson' }] });
  patientId = created.resource.id!;
}

beforeEach(() => setup());

interface Launch {
  verifier: string;
  state: string;
  url: URL;
}

async function launch(
  scope = 'launch/patient patient/*.rs offline_access',
  overrides: Record<string, string | undefined> = {},
): Promise<Launch> {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(as.authorization_endpoint!);
  const parameters: Record<string, string | undefined> = {
    response_type: 'code',
    client_id: app.client_id,
    redirect_uri: REDIRECT,
    scope,
    state,
    aud: `${server.origin}/fhir`,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...overrides,
  };
  for (const [name, value] of Object.entries(parameters))
    if (value !== undefined) url.searchParams.set(name, value);
  return { verifier, state, url };
}

/** The person's browser: authorize, sign in if needed, answer the consent screen; returns the redirect. */
async function consent(
  browser: TestBrowser,
  start: Launch,
  decision: 'approve' | 'deny' = 'approve',
  patient = patientId,
): Promise<URL> {
  const authorize = await browser.get(start.url.href);
  assert.equal(authorize.status, 303, authorize.text.slice(0, 300));
  const consentPath = authorize.location!;
  assert.match(consentPath, /^\/oauth\/consent\?request=/);
  const page = await browser.get(consentPath);
  assert.equal(page.status, 200, page.text.slice(0, 300));
  const answer = await browser.request('/oauth/consent', {
    form: {
      csrf: csrfOf(page.text),
      request: new URL(consentPath, server.origin).searchParams.get('request')!,
      decision,
      patient,
    },
  });
  assert.equal(answer.status, 303, answer.text.slice(0, 500));
  return new URL(answer.location!);
}

async function exchange(start: Launch, callback: URL, verifier = start.verifier, redirect = REDIRECT) {
  const parameters = oauth.validateAuthResponse(as, app, callback, start.state);
  const response = await oauth.authorizationCodeGrantRequest(
    as,
    app,
    oauth.None(),
    parameters,
    redirect,
    verifier,
    insecure,
  );
  return oauth.processAuthorizationCodeResponse(as, app, response);
}

/** A refresh token grant, as the app makes it; rejects with the server's OAuth error. */
async function refresh(token: string) {
  const response = await oauth.refreshTokenGrantRequest(as, app, oauth.None(), token, insecure);
  return oauth.processRefreshTokenResponse(as, app, response);
}

async function signedInBrowser(person = physician): Promise<TestBrowser> {
  const browser = new TestBrowser(server.origin);
  await signIn(browser, server, person);
  return browser;
}

describe('SMART configuration', () => {
  it('announces the authorization endpoint, S256 only, and the standalone launch capabilities', async () => {
    assert.equal(as.authorization_endpoint, `${server.origin}/oauth/authorize`);
    assert.equal(as.token_endpoint, `${server.origin}/oauth/token`);
    assert.deepEqual(as.code_challenge_methods_supported, ['S256']);
    assert.deepEqual(as.response_types_supported, ['code']);
    const config = as as unknown as { capabilities: string[]; grant_types_supported: string[] };
    for (const capability of [
      'launch-standalone',
      'client-public',
      'client-confidential-symmetric',
      'context-standalone-patient',
      'permission-v1',
      'permission-v2',
    ])
      assert.ok(config.capabilities.includes(capability), capability);
    assert.deepEqual(config.grant_types_supported, [
      'authorization_code',
      'refresh_token',
      'client_credentials',
    ]);
  });
});

describe('authorization code flow with oauth4webapi', () => {
  it('signs the person in, asks consent, and gives an access token for the person and the patient', async () => {
    const browser = new TestBrowser(server.origin);
    const start = await launch();
    const authorize = await browser.get(start.url.href);
    const consentPath = authorize.location!;
    const toLogin = await browser.get(consentPath);
    assert.equal(toLogin.status, 303, 'not signed in yet: to the sign-in page');
    assert.equal(toLogin.location, `/login?next=${encodeURIComponent(consentPath)}`);
    const done = await signIn(browser, server, physician, { next: consentPath });
    assert.equal(done.location, consentPath, 'back to the consent screen after sign-in');
    const page = await browser.get(consentPath);
    assert.match(page.text, /Allow Growth Chart/);
    assert.match(page.text, /Read and search every kind of record of the patient you choose/);
    assert.match(
      page.headers.get('content-security-policy') ?? '',
      /form-action 'self' http:\/\/127\.0\.0\.1:9;/,
      "the consent form may lead to the app's redirect URI",
    );
    const answer = await browser.request('/oauth/consent', {
      form: {
        csrf: csrfOf(page.text),
        request: new URL(consentPath, server.origin).searchParams.get('request')!,
        decision: 'approve',
        patient: patientId,
      },
    });
    assert.equal(answer.status, 303);
    const callback = new URL(answer.location!);
    assert.equal(`${callback.origin}${callback.pathname}`, REDIRECT);

    const tokens = await exchange(start, callback);
    assert.equal(tokens.token_type, 'bearer');
    assert.equal(tokens.scope, 'patient/*.rs launch/patient offline_access');
    assert.equal(tokens.patient, patientId);
    assert.equal(typeof tokens.refresh_token, 'string');
    const principal = await new TokenService(server.store, server.keys).verifyAccessToken(
      tokens.access_token,
      `${server.origin}/fhir`,
      server.clock.now(),
    );
    assert.deepEqual(
      [principal.kind, principal.id, principal.role],
      ['user', physician.userName, 'physician'],
    );
    const claims = JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString());
    assert.equal(claims.patient, patientId);
    assert.equal(claims.sub, physician.userName);

    const audit = await auditEntries(server.store, 'consent', 'token-issue');
    const consentEntry = audit.find((entry) => entry.action === 'consent' && entry.outcome === 'success');
    assert.equal(consentEntry.agent.id, physician.userName);
    assert.equal(consentEntry.detail.target, app.client_id);
    const text = JSON.stringify(audit);
    assert.ok(!text.includes(callback.searchParams.get('code')!), 'no code in the audit chain');
    assert.ok(!text.includes(tokens.refresh_token!), 'no refresh token in the audit chain');
  });

  it('refuses a wrong code_verifier, and the code cannot be tried again', async () => {
    const browser = await signedInBrowser();
    const start = await launch();
    const callback = await consent(browser, start);
    await assert.rejects(exchange(start, callback, oauth.generateRandomCodeVerifier()), (error: any) => {
      assert.equal(error.error, 'invalid_grant');
      assert.match(error.error_description, /code_verifier/);
      return true;
    });
    await assert.rejects(exchange(start, callback), (error: any) => error.error === 'invalid_grant');
  });

  it('refuses a code used twice, and revokes the refresh token it gave', async () => {
    const browser = await signedInBrowser();
    const start = await launch();
    const callback = await consent(browser, start);
    const first = await exchange(start, callback);
    await assert.rejects(exchange(start, callback), (error: any) => {
      assert.equal(error.error, 'invalid_grant');
      assert.match(error.error_description, /used already/);
      return true;
    });
    await assert.rejects(refresh(first.refresh_token!), (error: any) => error.error === 'invalid_grant');
  });

  it('refuses a code after 60 seconds', async () => {
    const browser = await signedInBrowser();
    const start = await launch();
    const callback = await consent(browser, start);
    server.clock.advance(61_000);
    await assert.rejects(exchange(start, callback), (error: any) => {
      assert.equal(error.error, 'invalid_grant');
      assert.match(error.error_description, /expired/);
      return true;
    });
  });

  it('refuses a redirect_uri that is not exactly the registered one', async () => {
    const browser = await signedInBrowser();
    const unregistered = await launch(undefined, { redirect_uri: `${REDIRECT}/other` });
    const page = await browser.get(unregistered.url.href);
    assert.equal(page.status, 400, 'an unregistered redirect_uri gets an error page, not a redirect');
    assert.equal(page.location, undefined);
    assert.match(page.text, /has not registered/);
    const start = await launch();
    const callback = await consent(browser, start);
    await assert.rejects(exchange(start, callback, start.verifier, `${REDIRECT}?x=1`), (error: any) => {
      assert.equal(error.error, 'invalid_grant');
      assert.match(error.error_description, /redirect_uri/);
      return true;
    });
  });

  it('refuses plain PKCE and a request without PKCE, telling the app through its redirect_uri', async () => {
    const browser = await signedInBrowser();
    for (const overrides of [
      { code_challenge_method: 'plain' },
      { code_challenge: undefined, code_challenge_method: undefined },
    ]) {
      const start = await launch(undefined, overrides);
      const answer = await browser.get(start.url.href);
      assert.equal(answer.status, 303);
      const callback = new URL(answer.location!);
      assert.equal(callback.searchParams.get('error'), 'invalid_request');
      assert.match(callback.searchParams.get('error_description')!, /S256/);
      assert.equal(callback.searchParams.get('state'), start.state);
    }
    const wrongAudience = await launch(undefined, { aud: 'https://elsewhere.example/fhir' });
    const callback = new URL((await browser.get(wrongAudience.url.href)).location!);
    assert.equal(callback.searchParams.get('error'), 'invalid_request');
  });

  it('rotates refresh tokens, and a reused one revokes the whole family', async () => {
    const browser = await signedInBrowser();
    const start = await launch();
    const first = await exchange(start, await consent(browser, start));
    const second = await refresh(first.refresh_token!);
    assert.notEqual(second.refresh_token, first.refresh_token, 'a new refresh token each time');
    assert.equal(second.scope, first.scope);
    assert.equal(second.patient, patientId);
    const third = await refresh(second.refresh_token!);
    await assert.rejects(refresh(first.refresh_token!), (error: any) => {
      assert.equal(error.error, 'invalid_grant');
      assert.match(error.error_description, /used already/);
      return true;
    });
    await assert.rejects(
      refresh(third.refresh_token!),
      (error: any) => error.error === 'invalid_grant',
      'the family is revoked',
    );
    const reuse = await auditEntries(server.store, 'refresh-token-reuse');
    assert.equal(reuse.at(-1).agent.id, physician.userName);
  });

  it('ends refresh tokens when the person signs out everywhere or is disabled', async () => {
    const person = await addPerson(server, 'nurse');
    const browser = await signedInBrowser(person);
    const start = await launch();
    const tokens = await exchange(start, await consent(browser, start));
    const everywhere = await browser.request('/logout/everywhere', {
      form: { csrf: csrfOf((await browser.get('/account')).text) },
    });
    assert.equal(everywhere.status, 303);
    await assert.rejects(refresh(tokens.refresh_token!), (error: any) => error.error === 'invalid_grant');

    const again = await signedInBrowser(person);
    const next = await launch();
    const later = await exchange(next, await consent(again, next));
    await disableAccount(server.store, person.userName, operatorActor());
    await assert.rejects(refresh(later.refresh_token!), (error: any) => error.error === 'invalid_grant');
  });
});

describe('consent', () => {
  it("grants only what the person's role allows", async () => {
    const desk = await addPerson(server, 'front-desk');
    const browser = await signedInBrowser(desk);
    const start = await launch('user/Patient.cruds user/Observation.rs user/Appointment.rs');
    const authorize = await browser.get(start.url.href);
    const page = await browser.get(authorize.location!);
    assert.match(page.text, /Not given, because your role does not allow it/);
    assert.match(page.text, /Read and search Observation records/);
    assert.doesNotMatch(page.text, /name="patient"/, 'no patient field without a patient scope');
    const answer = await browser.request('/oauth/consent', {
      form: {
        csrf: csrfOf(page.text),
        request: new URL(authorize.location!, server.origin).searchParams.get('request')!,
        decision: 'approve',
      },
    });
    const tokens = await exchange(start, new URL(answer.location!));
    // Front desk: demographics without delete, the schedule in full, no results.
    assert.equal(tokens.scope, 'user/Patient.crus user/Appointment.rs');
    assert.equal(tokens.refresh_token, undefined, 'no refresh token without offline_access');
  });

  it('tells the app when the person denies', async () => {
    const browser = await signedInBrowser();
    const start = await launch();
    const callback = await consent(browser, start, 'deny');
    assert.equal(callback.searchParams.get('error'), 'access_denied');
    assert.equal(callback.searchParams.get('state'), start.state);
    const denied = await auditEntries(server.store, 'consent');
    assert.ok(
      denied.some((entry) => entry.outcome === 'failure' && entry.detail.reason === 'denied by the person'),
    );
  });

  it('asks again for an unknown patient', async () => {
    const browser = await signedInBrowser();
    const start = await launch();
    const authorize = await browser.get(start.url.href);
    const page = await browser.get(authorize.location!);
    const answer = await browser.request('/oauth/consent', {
      form: {
        csrf: csrfOf(page.text),
        request: new URL(authorize.location!, server.origin).searchParams.get('request')!,
        decision: 'approve',
        patient: 'no-such-patient',
      },
    });
    assert.equal(answer.status, 400);
    assert.match(answer.text, /There is no patient with the id no-such-patient/);
  });

  it('shows a Continue link to a browser sent from another site (the Strict cookie is held back)', async () => {
    const start = await launch();
    const page = await new TestBrowser(server.origin).request(start.url.href, {
      headers: { 'sec-fetch-site': 'cross-site' },
    });
    assert.equal(page.status, 200);
    assert.match(page.text, /<a href="\/oauth\/consent\?request=[A-Za-z0-9_-]+">Continue<\/a>/);
  });

  it('refuses a consent form without its CSRF token', async () => {
    const browser = await signedInBrowser();
    const start = await launch();
    const authorize = await browser.get(start.url.href);
    const answer = await browser.request('/oauth/consent', {
      form: {
        request: new URL(authorize.location!, server.origin).searchParams.get('request')!,
        decision: 'approve',
        patient: patientId,
      },
    });
    assert.equal(answer.status, 403);
  });
});

describe('confidential apps and registration', () => {
  it('lets a confidential app authenticate with its secret (client_secret_basic)', async () => {
    const registered = await registerClient(
      server.store,
      { name: 'Practice Portal', scopes: 'user/*.rs', redirectUris: [REDIRECT] },
      operatorActor(),
    );
    const confidential: oauth.Client = { client_id: registered.client.clientId };
    const verifier = oauth.generateRandomCodeVerifier();
    const url = new URL(as.authorization_endpoint!);
    const state = oauth.generateRandomState();
    for (const [name, value] of Object.entries({
      response_type: 'code',
      client_id: confidential.client_id,
      redirect_uri: REDIRECT,
      scope: 'user/*.rs',
      state,
      aud: `${server.origin}/fhir`,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    }))
      url.searchParams.set(name, value);
    const browser = await signedInBrowser();
    const callback = await consent(browser, { url, verifier, state });
    const parameters = oauth.validateAuthResponse(as, confidential, callback, state);
    const withoutSecret = await oauth.authorizationCodeGrantRequest(
      as,
      confidential,
      oauth.None(),
      parameters,
      REDIRECT,
      verifier,
      insecure,
    );
    await assert.rejects(
      oauth.processAuthorizationCodeResponse(as, confidential, withoutSecret),
      (error: any) => error instanceof oauth.WWWAuthenticateChallengeError && error.status === 401,
    );

    // The code was spent by that attempt: a new one, with the secret.
    const again = await consent(browser, {
      url: new URL(url.href.replace(/state=[^&]+/, `state=${state}`)),
      verifier,
      state,
    });
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      confidential,
      oauth.ClientSecretBasic(registered.clientSecret!),
      oauth.validateAuthResponse(as, confidential, again, state),
      REDIRECT,
      verifier,
      insecure,
    );
    const tokens = await oauth.processAuthorizationCodeResponse(as, confidential, response);
    assert.equal(tokens.scope, 'user/*.rs');
    // An app cannot use client_credentials to act on its own.
    const credentials = await fetch(as.token_endpoint!, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${confidential.client_id}:${registered.clientSecret}`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    });
    assert.equal(credentials.status, 400);
    assert.equal(((await credentials.json()) as { error: string }).error, 'unauthorized_client');
  });

  it('registers apps from the command line, keeping the system client contract', () => {
    const folder = tempFolder();
    try {
      const data = `${folder.path}/data`;
      const keys = `${folder.path}/keys`;
      const addClient = (...options: string[]) =>
        chartvault('clients', 'add', '--data', data, '--key-dir', keys, ...options);
      assert.equal(chartvault('init', '--data', data, '--key-dir', keys, '--yes').status, 0);
      const system = addClient('--name', 'nightly', '--scopes', 'system/*.*', '--json');
      assert.equal(system.status, 0, system.stderr);
      assert.deepEqual(Object.keys(JSON.parse(system.stdout)), ['client_id', 'client_secret']);
      const appClient = addClient(
        '--name',
        'growth-chart',
        '--scopes',
        'patient/*.rs launch/patient offline_access',
        '--redirect-uri',
        'https://app.example/callback',
        '--redirect-uri',
        'http://127.0.0.1:8080/cb',
        '--public',
        '--json',
      );
      assert.equal(appClient.status, 0, appClient.stderr);
      assert.deepEqual(Object.keys(JSON.parse(appClient.stdout)), ['client_id']);
      const listed = JSON.parse(
        chartvault('clients', 'list', '--data', data, '--key-dir', keys, '--json').stdout,
      );
      const growth = listed.find((client: { name: string }) => client.name === 'growth-chart');
      assert.equal(growth.authMethod, 'none');
      assert.deepEqual(growth.redirectUris, ['https://app.example/callback', 'http://127.0.0.1:8080/cb']);
      const refused = addClient('--name', 'x', '--scopes', 'patient/*.rs', '--public');
      assert.notEqual(refused.status, 0);
      assert.match(refused.stderr, /--redirect-uri/);
    } finally {
      folder.remove();
    }
  });
});
