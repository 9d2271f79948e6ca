/**
 * `chartvault users` and `chartvault clients` as an administrator runs them, in separate processes,
 * and the contract the acceptance checks use: `clients add ... --json` gives a client_id and secret
 * that get a token from a running `chartvault serve`.
 */
import assert from 'node:assert/strict';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chartvault, startServe, stopProcess } from '../cli.ts';
import { tempFolder } from '../testStore.ts';

describe('chartvault users and clients', () => {
  const folder = tempFolder();
  const data = join(folder.path, 'data');
  const keys = join(folder.path, 'keys');
  const at = ['--data', data, '--key-dir', keys];
  before(() => {
    const init = chartvault('init', ...at, '--yes');
    assert.equal(init.status, 0, init.stderr);
  });
  after(() => folder.remove());

  it('clients add --json prints exactly client_id and client_secret, and makes the token signing key', () => {
    const result = chartvault(
      'clients',
      'add',
      ...at,
      '--name',
      'acceptance',
      '--scopes',
      'system/*.*',
      '--json',
    );
    assert.equal(result.status, 0, result.stderr);
    const printed = JSON.parse(result.stdout) as Record<string, string>;
    assert.deepEqual(Object.keys(printed), ['client_id', 'client_secret']);
    assert.match(printed.client_secret!, /^[A-Za-z0-9_-]{43}$/, '256 bits, base64url');
    const signingKey = readdirSync(keys).find((name) => name.endsWith('.token-signing.pem'));
    assert.ok(signingKey, 'token signing key in the key folder');
    assert.equal(statSync(join(keys, signingKey)).mode & 0o777, 0o600);
  });

  it('a client from the CLI gets a token from a running serve, and revoking it stops that', async () => {
    const added = JSON.parse(
      chartvault('clients', 'add', ...at, '--name', 'script', '--scopes', 'system/*.rs', '--json').stdout,
    ) as { client_id: string; client_secret: string };
    const served = await startServe(data, keys);
    try {
      const origin = new URL(served.base).origin;
      const config = (await (await fetch(`${served.base}/.well-known/smart-configuration`)).json()) as {
        token_endpoint: string;
      };
      assert.equal(config.token_endpoint, `${origin}/oauth/token`);
      const requestToken = () =>
        fetch(config.token_endpoint, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: `Basic ${Buffer.from(`${added.client_id}:${added.client_secret}`).toString('base64')}`,
          },
          body: 'grant_type=client_credentials',
        });
      const response = await requestToken();
      assert.equal(response.status, 200);
      const token = (await response.json()) as { access_token: string; scope: string };
      assert.equal(token.scope, 'system/*.rs');
      assert.equal(token.access_token.split('.').length, 3);

      const revoked = chartvault('clients', 'revoke', ...at, '--client-id', added.client_id);
      assert.equal(revoked.status, 0, revoked.stderr);
      assert.match(revoked.stdout, /Revoked script/);
      assert.equal((await requestToken()).status, 401, 'the running server sees the revocation at once');
    } finally {
      await stopProcess(served.process);
    }
  });

  it('tokens stay verifiable across a restart of serve: it signs with the key in the key folder', async () => {
    const added = JSON.parse(
      chartvault('clients', 'add', ...at, '--name', 'restart', '--scopes', 'system/*.rs', '--json').stdout,
    ) as { client_id: string; client_secret: string };
    const jwksOf = async (base: string) =>
      ((await (await fetch(`${new URL(base).origin}/oauth/jwks`)).json()) as { keys: { kid: string }[] })
        .keys;
    const first = await startServe(data, keys);
    let token: string;
    let before: { kid: string }[];
    try {
      const response = await fetch(`${new URL(first.base).origin}/oauth/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${added.client_id}:${added.client_secret}`).toString('base64')}`,
        },
        body: 'grant_type=client_credentials',
      });
      assert.equal(response.status, 200);
      token = ((await response.json()) as { access_token: string }).access_token;
      before = await jwksOf(first.base);
    } finally {
      await stopProcess(first.process);
    }
    const second = await startServe(data, keys);
    try {
      const after = await jwksOf(second.base);
      assert.deepEqual(after, before, 'the same public key is published after the restart');
      const { kid } = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as {
        kid: string;
      };
      assert.ok(
        after.some((key) => key.kid === kid),
        'the token names a published key',
      );
    } finally {
      await stopProcess(second.process);
    }
  });

  it('clients list shows the clients without secrets; bad scopes and JWKS files get a clear message', () => {
    const list = chartvault('clients', 'list', ...at, '--json');
    const clients = JSON.parse(list.stdout) as { name: string; revoked: boolean; createdBy: string }[];
    assert.deepEqual(clients.map((c) => c.name).sort(), ['acceptance', 'restart', 'script']);
    assert.ok(!list.stdout.includes('secretHash'));
    assert.match(clients[0]!.createdBy, /^.+@.+$/, 'attributed to user@host');
    const badScope = chartvault('clients', 'add', ...at, '--name', 'x', '--scopes', 'everything');
    assert.equal(badScope.status, 1);
    assert.match(
      badScope.stderr,
      /^chartvault: Not a SMART resource scope: everything\. Use the form system\/Type/,
    );
    const jwksFile = join(folder.path, 'broken.json');
    writeFileSync(jwksFile, '{ keys: ');
    const badJwks = chartvault(
      'clients',
      'add',
      ...at,
      '--name',
      'x',
      '--scopes',
      'system/*.rs',
      '--jwks',
      jwksFile,
    );
    assert.equal(badJwks.status, 1);
    assert.match(badJwks.stderr, /broken\.json is not JSON/);
  });

  it('users add with a password file, or with a one-time enrolment code; weak passwords and unknown roles refused', () => {
    const passwordFile = join(folder.path, 'first-password.txt');
    writeFileSync(passwordFile, 'plum lantern orbit cactus\n', { mode: 0o600 });
    const added = chartvault(
      'users',
      'add',
      ...at,
      '--user',
      'mreyes',
      '--role',
      'physician',
      '--display',
      'M. Reyes',
      '--password-file',
      passwordFile,
    );
    assert.equal(added.status, 0, added.stderr);
    assert.match(added.stdout, /Added mreyes \(M\. Reyes\), role physician/);

    const enrol = chartvault('users', 'add', ...at, '--user', 'desk1', '--role', 'front-desk');
    assert.equal(enrol.status, 0, enrol.stderr);
    assert.match(enrol.stdout, /One-time enrolment code, shown only now, valid until \d{4}-/);
    assert.match(enrol.stdout, /\n {2}[a-z2-7]{5}(-[a-z2-7]{5}){3}\n/);

    writeFileSync(passwordFile, 'password123\n');
    const weak = chartvault(
      'users',
      'add',
      ...at,
      '--user',
      'nurse1',
      '--role',
      'nurse',
      '--password-file',
      passwordFile,
    );
    assert.equal(weak.status, 1);
    assert.match(weak.stderr, /common and breached passwords/);
    const role = chartvault('users', 'add', ...at, '--user', 'nurse1', '--role', 'doctor');
    assert.equal(role.status, 1);
    assert.match(
      role.stderr,
      /"doctor" is not a role for a person; choose one of: physician, nurse, front-desk, billing, security-officer/,
    );
  });

  it('users disable, reset-mfa and list', () => {
    assert.equal(chartvault('users', 'disable', ...at, '--user', 'desk1').status, 0);
    assert.equal(chartvault('users', 'reset-mfa', ...at, '--user', 'mreyes').status, 0);
    const unknown = chartvault('users', 'disable', ...at, '--user', 'nobody');
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /There is no account named nobody/);
    const list = chartvault('users', 'list', ...at);
    assert.match(list.stdout, /^user +role +name +status +mfa +created$/m);
    assert.match(list.stdout, /^desk1 +front-desk +desk1 +disabled /m);
    assert.match(list.stdout, /^mreyes +physician +M\. Reyes +active +not yet /m);
    assert.ok(!list.stdout.includes('argon2'));
  });
});
