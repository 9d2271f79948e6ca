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
import { chartvault, startServe, stopProcess } from '../cli.ts';

const folder = tempFolder('chartvault-cli-');
const data = join(folder.path, 'data');
const keyDir = join(folder.path, 'keys');
const UNUSUAL = 'Zyxwvutsrqponmlkjih-Oberwaldhausen';
let server: ChildProcess;
let base: string;

before(async () => {
  const init = chartvault('init', '--data', data, '--key-dir', keyDir, '--yes');
  assert.equal(init.status, 0, init.stderr);
  assert.match(init.stdout, new RegExp(keyDir.replace(/[/.]/g, '\\$&')));
  ({ base, process: server } = await startServe(data, keyDir));
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
    headers: { 'content-type': 'application/fhir+json', prefer: 'return=representation' },
    body: JSON.stringify({
      resourceType: 'Patient',
      name: [{ family: UNUSUAL, given: ['Test'] }],
      birthDate: '1961-07-21',
    }),
  });
  assert.equal(created.status, 201);
  const patient = (await created.json()) as any;
  const read = (await (await fetch(`${base}/Patient/${patient.id}`)).json()) as any;
  assert.equal(read.name[0].family, UNUSUAL);
  const found = (await (await fetch(`${base}/Patient?family=${UNUSUAL}&birthdate=1961-07-21`)).json()) as any;
  assert.equal(found.total, 1);
  const files = readdirSync(data, { recursive: true, encoding: 'utf8' })
    .map((f) => join(data, f))
    .filter((f) => statSync(f).isFile());
  for (const file of files)
    assert.ok(!readFileSync(file).includes(UNUSUAL), `${file} holds the name in plaintext`);
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
  const found = (await (await fetch(`${base}/Patient?family=Ndjsonfamily`)).json()) as any;
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
