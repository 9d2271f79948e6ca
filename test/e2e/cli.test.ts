/**
 * The command-line contract, as an operator (and the acceptance checks) use it: separate processes,
 * a real data directory, real HTTP.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { tempFolder } from '../testStore.ts';
import { chartvault, clientAuthorization, startServe, stopProcess } from '../cli.ts';

const folder = tempFolder('chartvault-cli-');
const data = join(folder.path, 'data');
const keyDir = join(folder.path, 'keys');
const UNUSUAL = 'Zyxwvutsrqponmlkjih-Oberwaldhausen';
let server: ChildProcess;
let base: string;
let auth: { authorization: string };

before(async () => {
  const init = chartvault('init', '--data', data, '--key-dir', keyDir, '--yes');
  assert.equal(init.status, 0, init.stderr);
  assert.match(init.stdout, new RegExp(keyDir.replace(/[/.]/g, '\\$&')));
  ({ base, process: server } = await startServe(data, keyDir));
  auth = await clientAuthorization(data, keyDir, base);
});

after(async () => {
  if (server) await stopProcess(server);
  folder.remove();
});

test('init refuses to overwrite an existing store', () => {
  const again = chartvault('init', '--data', data, '--key-dir', keyDir, '--yes');
  assert.equal(again.status, 1);
  assert.match(again.stderr, /already holds a ChartVault store/);
});

test('create and read a patient over HTTP, search by family and birth date, and find the name nowhere on disk', async () => {
  const created = await fetch(`${base}/Patient`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', prefer: 'return=representation', ...auth },
    body: JSON.stringify({
      resourceType: 'Patient',
      name: [{ family: UNUSUAL, given: ['Test'] }],
      birthDate: '1961-07-21',
    }),
  });
  assert.equal(created.status, 201);
  const patient = (await created.json()) as any;
  const read = (await (await fetch(`${base}/Patient/${patient.id}`, { headers: auth })).json()) as any;
  assert.equal(read.name[0].family, UNUSUAL);
  const found = (await (
    await fetch(`${base}/Patient?family=${UNUSUAL}&birthdate=1961-07-21`, { headers: auth })
  ).json()) as any;
  assert.equal(found.total, 1);
  const files = readdirSync(data, { recursive: true, encoding: 'utf8' })
    .map((f) => join(data, f))
    .filter((f) => statSync(f).isFile());
  for (const file of files)
    assert.ok(!readFileSync(file).includes(UNUSUAL), `${file} holds the name in plaintext`);
});

test('the acceptance flow: a client from clients add --json gets a token, creates and reads a patient, finds the AuditEvents; a tampered token gets 401; audit verify passes', async () => {
  const added = chartvault(
    'clients',
    'add',
    '--data',
    data,
    '--key-dir',
    keyDir,
    '--name',
    'acceptance-script',
    '--scopes',
    'system/*.*',
    '--json',
  );
  assert.equal(added.status, 0, added.stderr);
  const { client_id, client_secret } = JSON.parse(added.stdout) as Record<string, string>;
  const config = (await (await fetch(`${base}/.well-known/smart-configuration`)).json()) as any;
  const issued = await fetch(config.token_endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${client_id}:${client_secret}`).toString('base64')}`,
    },
    body: 'grant_type=client_credentials&scope=system%2F*.*',
  });
  assert.equal(issued.status, 200);
  const { access_token } = (await issued.json()) as { access_token: string };
  const bearer = (token: string) => ({ authorization: `Bearer ${token}`, accept: 'application/fhir+json' });

  const created = await fetch(`${base}/Patient`, {
    method: 'POST',
    headers: { ...bearer(access_token), 'content-type': 'application/fhir+json' },
    body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Acceptanceflow' }] }),
  });
  assert.equal(created.status, 201);
  const id = ((await created.json()) as { id: string }).id;
  assert.equal((await fetch(`${base}/Patient/${id}`, { headers: bearer(access_token) })).status, 200);
  const audit = (await (
    await fetch(`${base}/AuditEvent?patient=${id}`, { headers: bearer(access_token) })
  ).json()) as any;
  const recorded = audit.entry.map((e: any) => e.resource);
  assert.deepEqual(recorded.map((e: any) => e.subtype[0].code).sort(), ['create', 'read']);
  assert.ok(recorded.every((e: any) => e.agent[0].who.identifier.value === client_id));

  // One character of the signature changed, then the payload re-signed by nobody: both refused.
  const [header, payload, signature] = access_token.split('.') as [string, string, string];
  const flipped = signature[5] === 'A' ? 'B' : 'A';
  const tamperedSignature = `${header}.${payload}.${signature.slice(0, 5)}${flipped}${signature.slice(6)}`;
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  const widened = Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url');
  for (const token of [tamperedSignature, `${header}.${widened}.${signature}`, 'not-a-token']) {
    const refused = await fetch(`${base}/Patient/${id}`, { headers: bearer(token) });
    assert.equal(refused.status, 401, token);
    assert.match(
      refused.headers.get('www-authenticate')!,
      /^Bearer realm="ChartVault", error="invalid_token"/,
    );
    assert.equal(((await refused.json()) as any).resourceType, 'OperationOutcome');
  }
  const anonymous = await fetch(`${base}/Patient/${id}`);
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.headers.get('www-authenticate'), 'Bearer realm="ChartVault"');
  assert.equal((await fetch(`${base}/metadata`)).status, 200, 'the CapabilityStatement is public');

  const verify = chartvault('audit', 'verify', '--data', data, '--key-dir', keyDir);
  assert.equal(verify.status, 0, verify.stderr + verify.stdout);
});

test('import works while serve runs on the same data directory, and re-import adds nothing', async () => {
  const input = join(folder.path, 'input');
  mkdirSync(input);
  writeFileSync(
    join(input, 'Patient.ndjson'),
    [1, 2, 3]
      .map((i) =>
        JSON.stringify({ resourceType: 'Patient', id: `nd-${i}`, name: [{ family: 'Ndjsonfamily' }] }),
      )
      .join('\n') + '\n',
  );
  writeFileSync(join(input, 'broken.json'), '{ not json');
  const first = chartvault('import', '--data', data, '--key-dir', keyDir, input);
  assert.equal(first.status, 3, 'exit code 3 reports rejected files');
  assert.match(first.stdout, /Patient\s+3\s+0\s+0/);
  assert.match(first.stdout, /broken\.json: not valid JSON/);
  const found = (await (await fetch(`${base}/Patient?family=Ndjsonfamily`, { headers: auth })).json()) as any;
  assert.equal(found.total, 3, 'the running server sees what the CLI imported');
  const second = chartvault('import', '--data', data, '--key-dir', keyDir, join(input, 'Patient.ndjson'));
  assert.equal(second.status, 0);
  assert.match(second.stdout, /Patient\s+0\s+0\s+3/);
});

test('serve refuses non-loopback addresses and a missing key; errors are one clear line', () => {
  const wide = chartvault(
    'serve',
    '--data',
    data,
    '--key-dir',
    keyDir,
    '--host',
    '0.0.0.0',
    '--port',
    '0',
    '--insecure-http',
  );
  assert.equal(wide.status, 1);
  assert.match(wide.stderr, /loopback/);
  const noKey = chartvault(
    'serve',
    '--data',
    data,
    '--key-dir',
    join(folder.path, 'nowhere'),
    '--port',
    '0',
    '--insecure-http',
  );
  assert.equal(noKey.status, 1);
  assert.match(noKey.stderr, /No data key/);
  assert.doesNotMatch(noKey.stderr, /at .*\.ts:\d+/, 'no stack trace');
  const notStore = chartvault(
    'import',
    '--data',
    join(folder.path, 'nothing-here'),
    '--key-dir',
    keyDir,
    folder.path,
  );
  assert.equal(notStore.status, 1);
  assert.match(notStore.stderr, /not a ChartVault data directory/);
});
