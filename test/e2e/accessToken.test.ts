/**
 * The OAuth token endpoint over real HTTP on 127.0.0.1: client_secret_basic and private_key_jwt
 * (SMART Backend Services), the checks on client assertions, the access tokens' verification, and a
 * client library written by others (oauth4webapi) obtaining a token.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import * as oauth from 'oauth4webapi';
import {
  addAccount,
  disableAccount,
  InvalidTokenError,
  loadOrCreateTokenKeys,
  operatorActor,
  registerClient,
  revokeClient,
  TokenService,
  ephemeralTokenKeys,
  type TokenKeys,
} from '../../src/access/index.ts';
import { buildServer } from '../../src/http/server.ts';
import { readSettings } from '../../src/store/index.ts';
import { createTempStore, type TempStore } from '../testStore.ts';

let temp: TempStore;
let origin: string;
let keys: TokenKeys;
let tokens: TokenService;
let closeServer: () => Promise<unknown>;
const operator = operatorActor();

before(async () => {
  temp = createTempStore();
  keys = loadOrCreateTokenKeys(temp.keyDir, readSettings(temp.dataDir).storeId);
  tokens = new TokenService(temp.store, keys);
  const app = buildServer({ store: temp.store, tokenKeys: keys });
  origin = await app.listen({ host: '127.0.0.1', port: 0 });
  closeServer = () => app.close();
});
after(async () => {
  await closeServer?.();
  await temp?.cleanup();
});

const tokenUrl = () => `${origin}/oauth/token`;
const fhirBase = () => `${origin}/fhir`;

async function postForm(url: string, form: Record<string, string>, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, any>,
  };
}

const basic = (id: string, secret: string) => ({
  authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`,
});

describe('SMART configuration', () => {
  it('names the token endpoint as an absolute URL at both well-known places', async () => {
    for (const path of ['/fhir/.well-known/smart-configuration', '/.well-known/smart-configuration']) {
      const response = await fetch(`${origin}${path}`);
      assert.equal(response.status, 200, path);
      const config = (await response.json()) as Record<string, any>;
      assert.equal(config.token_endpoint, `${origin}/oauth/token`);
      assert.ok(new URL(config.token_endpoint).protocol === 'http:');
      assert.deepEqual(config.token_endpoint_auth_methods_supported, [
        'client_secret_basic',
        'private_key_jwt',
        'none',
      ]);
      assert.ok(config.grant_types_supported.includes('client_credentials'));
      assert.ok(config.capabilities.includes('client-confidential-asymmetric'));
      assert.ok(config.scopes_supported.includes('system/*.*'));
    }
  });

  it('keeps the token signing key owner-only in the key folder, and publishes its public half', async () => {
    assert.equal(statSync(keys.file!).mode & 0o777, 0o600);
    const jwks = (await (await fetch(`${origin}/oauth/jwks`)).json()) as { keys: JWK[] };
    assert.equal(jwks.keys[0]!.kid, keys.kid);
    assert.equal(jwks.keys[0]!.d, undefined, 'no private part');
  });

  it('leaves /fhir answering as before (access control is wired in a later step)', async () => {
    const response = await fetch(`${fhirBase()}/metadata`);
    assert.equal(response.status, 200);
  });
});

describe('client_credentials with client_secret_basic', () => {
  let clientId: string;
  let secret: string;
  before(async () => {
    const registered = await registerClient(
      temp.store,
      { name: 'nightly-script', scopes: 'system/*.*' },
      operator,
    );
    clientId = registered.client.clientId;
    secret = registered.clientSecret!;
  });

  it('issues a short-lived bearer token for the FHIR base URL', async () => {
    const { status, body, headers } = await postForm(
      tokenUrl(),
      { grant_type: 'client_credentials' },
      basic(clientId, secret),
    );
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.expires_in, 300);
    assert.equal(body.scope, 'system/*.*');
    assert.equal(headers.get('cache-control'), 'no-store');
    const principal = await tokens.verifyAccessToken(body.access_token, fhirBase());
    assert.deepEqual(principal, { kind: 'client', id: clientId, role: 'system', scopes: ['system/*.*'] });
  });

  it('grants a narrower scope when asked, and refuses one beyond the registration', async () => {
    const narrow = await postForm(
      tokenUrl(),
      { grant_type: 'client_credentials', scope: 'system/Patient.rs' },
      basic(clientId, secret),
    );
    assert.equal(narrow.body.scope, 'system/Patient.rs');
    const other = await registerClient(
      temp.store,
      { name: 'lab-feed', scopes: 'system/Observation.cru' },
      operator,
    );
    const wide = await postForm(
      tokenUrl(),
      { grant_type: 'client_credentials', scope: 'system/*.rs' },
      basic(other.client.clientId, other.clientSecret!),
    );
    assert.equal(wide.status, 400);
    assert.equal(wide.body.error, 'invalid_scope');
  });

  it('answers a wrong secret, an unknown client and no credentials with 401 invalid_client', async () => {
    for (const headers of [basic(clientId, secret + 'x'), basic('no-such-client', secret), {}]) {
      const {
        status,
        body,
        headers: answer,
      } = await postForm(tokenUrl(), { grant_type: 'client_credentials' }, headers);
      assert.equal(status, 401);
      assert.equal(body.error, 'invalid_client');
      assert.equal(typeof body.error_description, 'string');
      assert.match(answer.get('www-authenticate') ?? '', /^Basic/);
    }
    const entries = (await temp.store.auditEntriesAfter(0, 100_000)).map((record) =>
      JSON.parse(record.entry),
    );
    const refused = entries.filter(
      (e) => e.action === 'token-issue' && e.outcome === 'failure' && e.status === 401,
    );
    assert.ok(refused.length >= 3, 'each refusal is in the audit chain');
    assert.equal(refused[0].agent.address, '127.0.0.1');
    assert.ok(!JSON.stringify(entries).includes(secret), 'no client secret in the audit chain');
  });

  it('answers malformed requests with 400 and the OAuth error code', async () => {
    const missing = await postForm(tokenUrl(), {}, basic(clientId, secret));
    assert.deepEqual([missing.status, missing.body.error], [400, 'invalid_request']);
    const password = await postForm(
      tokenUrl(),
      { grant_type: 'password', username: 'a', password: 'b' },
      basic(clientId, secret),
    );
    assert.deepEqual([password.status, password.body.error], [400, 'unsupported_grant_type']);
    const json = await fetch(tokenUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...basic(clientId, secret) },
      body: JSON.stringify({ grant_type: 'client_credentials' }),
    });
    assert.equal(json.status, 400);
    assert.equal(((await json.json()) as { error: string }).error, 'invalid_request');
  });

  it('stops issuing to a revoked client, and its live tokens stop verifying at once', async () => {
    const registered = await registerClient(
      temp.store,
      { name: 'departing', scopes: 'system/*.rs' },
      operator,
    );
    const { body } = await postForm(
      tokenUrl(),
      { grant_type: 'client_credentials' },
      basic(registered.client.clientId, registered.clientSecret!),
    );
    await tokens.verifyAccessToken(body.access_token, fhirBase());
    await revokeClient(temp.store, registered.client.clientId, operator);
    await assert.rejects(
      tokens.verifyAccessToken(body.access_token, fhirBase()),
      /client of this access token has been revoked/,
    );
    const again = await postForm(
      tokenUrl(),
      { grant_type: 'client_credentials' },
      basic(registered.client.clientId, registered.clientSecret!),
    );
    assert.equal(again.status, 401);
  });

  it('revokes one token at /oauth/revoke', async () => {
    const { body } = await postForm(
      tokenUrl(),
      { grant_type: 'client_credentials' },
      basic(clientId, secret),
    );
    const revoked = await postForm(
      `${origin}/oauth/revoke`,
      { token: body.access_token },
      basic(clientId, secret),
    );
    assert.equal(revoked.status, 200);
    await assert.rejects(tokens.verifyAccessToken(body.access_token, fhirBase()), /has been revoked/);
  });
});

describe('client_credentials with private_key_jwt (SMART Backend Services)', () => {
  let clientId: string;
  let privateKey: CryptoKey;
  let kid: string;

  before(async () => {
    const pair = await generateKeyPair('ES384');
    privateKey = pair.privateKey;
    kid = 'backend-key-1';
    const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg: 'ES384' };
    const registered = await registerClient(
      temp.store,
      { name: 'hie-connector', scopes: 'system/*.rs', jwks: { keys: [jwk] } },
      operator,
    );
    clientId = registered.client.clientId;
    assert.equal(registered.clientSecret, undefined);
  });

  function assertion(
    claims: { aud?: string; exp?: number; jti?: string; iss?: string } = {},
    key = privateKey,
    alg = 'ES384',
  ) {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg, kid, typ: 'JWT' })
      .setIssuer(claims.iss ?? clientId)
      .setSubject(clientId)
      .setAudience(claims.aud ?? tokenUrl())
      .setExpirationTime(claims.exp ?? now + 240)
      .setJti(claims.jti ?? crypto.randomUUID())
      .sign(key);
  }

  const exchange = async (jwt: string, scope = 'system/*.rs') =>
    postForm(tokenUrl(), {
      grant_type: 'client_credentials',
      scope,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: jwt,
    });

  it('issues a token for a valid ES384 assertion', async () => {
    const { status, body } = await exchange(await assertion());
    assert.equal(status, 200, JSON.stringify(body));
    const principal = await tokens.verifyAccessToken(body.access_token, fhirBase());
    assert.equal(principal.id, clientId);
  });

  it('refuses an assertion whose jti was used before', async () => {
    const jwt = await assertion({ jti: 'once-only' });
    assert.equal((await exchange(jwt)).status, 200);
    const replay = await exchange(jwt);
    assert.deepEqual([replay.status, replay.body.error], [401, 'invalid_client']);
    assert.match(replay.body.error_description, /jti.*used before/);
  });

  it('refuses expired, too long-lived, wrongly addressed and wrongly signed assertions', async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, Promise<string>, RegExp][] = [
      ['expired', assertion({ exp: now - 10 }), /expired/],
      ['exp more than 5 minutes ahead', assertion({ exp: now + 600 }), /more than 300 seconds/],
      ['aud is the FHIR base', assertion({ aud: fhirBase() }), /aud must be this token endpoint/],
      [
        'signed by another key',
        generateKeyPair('ES384').then((other) => assertion({}, other.privateKey)),
        /signature|key/,
      ],
      [
        'ES256 instead of ES384',
        generateKeyPair('ES256').then((other) => assertion({}, other.privateKey, 'ES256')),
        /RS384 or ES384/,
      ],
    ];
    for (const [name, jwt, message] of cases) {
      const { status, body } = await exchange(await jwt);
      assert.equal(status, 401, name);
      assert.equal(body.error, 'invalid_client', name);
      assert.match(body.error_description, message, name);
    }
  });

  it('reads an RS384 client key from a registered JWKS URL', async () => {
    const pair = await generateKeyPair('RS384');
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'rsa-1', alg: 'RS384' };
    const jwksServer: Server = createServer((_request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    try {
      const port = (jwksServer.address() as { port: number }).port;
      const registered = await registerClient(
        temp.store,
        { name: 'rsa-client', scopes: 'system/Patient.rs', jwksUrl: `http://127.0.0.1:${port}/jwks.json` },
        operator,
      );
      const jwt = await new SignJWT({})
        .setProtectedHeader({ alg: 'RS384', kid: 'rsa-1' })
        .setIssuer(registered.client.clientId)
        .setSubject(registered.client.clientId)
        .setAudience(tokenUrl())
        .setExpirationTime('2m')
        .setJti(crypto.randomUUID())
        .sign(pair.privateKey);
      const { status, body } = await exchange(jwt, 'system/Patient.rs');
      assert.equal(status, 200, JSON.stringify(body));
    } finally {
      jwksServer.close();
    }
  });

  it('refuses to register a JWKS that holds a private key', async () => {
    const pair = await generateKeyPair('ES384', { extractable: true });
    const privateJwk = await exportJWK(pair.privateKey);
    await assert.rejects(
      registerClient(
        temp.store,
        { name: 'careless', scopes: 'system/*.rs', jwks: { keys: [privateJwk] } },
        operator,
      ),
      /holds a private key/,
    );
  });
});

describe('verifyAccessToken', () => {
  let clientId: string;
  before(async () => {
    clientId = (await registerClient(temp.store, { name: 'verifier-test', scopes: 'system/*.rs' }, operator))
      .client.clientId;
  });
  const issue = (
    service = tokens,
    audience = fhirBase(),
    subject = clientId,
    subjectKind: 'client' | 'user' = 'client',
  ) => service.issue({ subject, subjectKind, scope: 'system/*.rs', audience, issuer: origin });

  it('accepts a good token and refuses a forged one signed by another key with the same kid', async () => {
    const good = await issue();
    assert.equal((await tokens.verifyAccessToken(good.access_token, fhirBase())).id, clientId);
    const forger = new TokenService(temp.store, { ...ephemeralTokenKeys(), kid: keys.kid });
    const forged = await issue(forger);
    await assert.rejects(tokens.verifyAccessToken(forged.access_token, fhirBase()), InvalidTokenError);
  });

  it('refuses a token whose payload was edited (scope widened)', async () => {
    const [header, payload, signature] = (await issue()).access_token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    claims.scope = 'system/*.*';
    const tampered = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
    await assert.rejects(tokens.verifyAccessToken(tampered, fhirBase()), /signature is not valid/);
    await assert.rejects(tokens.verifyAccessToken('not.a.token', fhirBase()), /not valid/);
  });

  it('refuses an expired token and a token for another audience', async () => {
    const good = await issue();
    await assert.rejects(
      tokens.verifyAccessToken(good.access_token, fhirBase(), Date.now() + 301_000),
      /expired/,
    );
    const elsewhere = await issue(tokens, 'https://other.example/fhir');
    await assert.rejects(tokens.verifyAccessToken(elsewhere.access_token, fhirBase()), /another server/);
  });

  it("refuses a person's token once the account is disabled", async () => {
    await addAccount(
      temp.store,
      { userName: 'locum1', role: 'physician', password: 'plum lantern orbit cactus' },
      operator,
    );
    const token = await issue(tokens, fhirBase(), 'locum1', 'user');
    assert.equal((await tokens.verifyAccessToken(token.access_token, fhirBase())).role, 'physician');
    await disableAccount(temp.store, 'locum1', operator);
    await assert.rejects(tokens.verifyAccessToken(token.access_token, fhirBase()), /disabled/);
  });
});

describe('a client library written by others (oauth4webapi)', () => {
  it('obtains a token by client_credentials with client_secret_basic and with private_key_jwt', async () => {
    const discovery = (await (
      await fetch(`${fhirBase()}/.well-known/smart-configuration`)
    ).json()) as oauth.AuthorizationServer;
    const as: oauth.AuthorizationServer = {
      issuer: discovery.issuer,
      token_endpoint: discovery.token_endpoint,
    };
    const options = { [oauth.allowInsecureRequests]: true };

    const registered = await registerClient(
      temp.store,
      { name: 'oauth4webapi-basic', scopes: 'system/*.*' },
      operator,
    );
    const client: oauth.Client = { client_id: registered.client.clientId };
    const response = await oauth.clientCredentialsGrantRequest(
      as,
      client,
      oauth.ClientSecretBasic(registered.clientSecret!),
      { scope: 'system/Patient.rs' },
      options,
    );
    const result = await oauth.processClientCredentialsResponse(as, client, response);
    assert.equal(result.token_type, 'bearer');
    assert.equal(result.scope, 'system/Patient.rs');
    assert.equal((await tokens.verifyAccessToken(result.access_token, fhirBase())).id, client.client_id);

    const pair = await generateKeyPair('ES384');
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'lib-key', alg: 'ES384' };
    const jwtClient = await registerClient(
      temp.store,
      { name: 'oauth4webapi-jwt', scopes: 'system/*.rs', jwks: { keys: [jwk] } },
      operator,
    );
    const backend: oauth.Client = {
      client_id: jwtClient.client.clientId,
      token_endpoint_auth_signing_alg: 'ES384',
    };
    const auth = oauth.PrivateKeyJwt(
      { key: pair.privateKey, kid: 'lib-key' },
      {
        // SMART Backend Services wants the token endpoint as the assertion's audience.
        [oauth.modifyAssertion]: (_header, payload) => {
          payload.aud = as.token_endpoint;
        },
      },
    );
    const jwtResponse = await oauth.clientCredentialsGrantRequest(
      as,
      backend,
      auth,
      { scope: 'system/*.rs' },
      options,
    );
    const jwtResult = await oauth.processClientCredentialsResponse(as, backend, jwtResponse);
    assert.equal(jwtResult.scope, 'system/*.rs');
  });
});
