/**
 * The emergency copy: `serve --read-only --from-backup TARGET --kit KIT` restores the newest snapshot
 * into a new folder with every check, then answers reads (audited in the copy's own chain) and
 * refuses every change with a FHIR error that says why.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { addClient, chartvault, CLI, clientToken, stopProcess } from '../cli.ts';
import { tempFolder } from '../testStore.ts';

const folder = tempFolder('chartvault-read-only-');
let server: ChildProcess | undefined;
after(async () => {
  if (server) await stopProcess(server);
  folder.remove();
});

function serve(...args: string[]): Promise<{ base: string; output: () => string }> {
  server = spawn('node', [CLI, 'serve', '--host', '127.0.0.1', '--port', '0', '--insecure-http', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    server!.stdout!.on('data', (chunk) => {
      out += chunk;
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (match) resolve({ base: `${match[1]}/fhir`, output: () => out });
    });
    server!.stderr!.on('data', (chunk) => (out += chunk));
    server!.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
  });
}

test('serve --read-only --from-backup restores, answers reads, refuses changes, and audits the reads', async () => {
  const data = join(folder.path, 'data');
  const keys = join(folder.path, 'keys');
  const kit = join(folder.path, 'kit.html');
  const target = join(folder.path, 'disk');
  assert.equal(chartvault('init', '--data', data, '--key-dir', keys, '--yes', '--kit-out', kit).status, 0);
  const patient = join(folder.path, 'patient.json');
  writeFileSync(
    patient,
    JSON.stringify({ resourceType: 'Patient', id: 'emergency-1', birthDate: '1944-04-04' }),
  );
  assert.equal(chartvault('import', '--data', data, '--key-dir', keys, '--no-progress', patient).status, 0);
  // Registered before the backup: the emergency copy knows the practice's clients and accounts.
  const client = addClient(data, keys);
  assert.equal(chartvault('backup', 'run', '--data', data, '--key-dir', keys, '--to', target).status, 0);

  const copy = join(folder.path, 'copy');
  const copyKeys = join(folder.path, 'copy-keys');
  const withoutReadOnly = chartvault(
    'serve',
    '--data',
    copy,
    '--key-dir',
    copyKeys,
    '--from-backup',
    target,
    '--kit',
    kit,
  );
  assert.notEqual(withoutReadOnly.status, 0);
  assert.match(withoutReadOnly.stderr, /add --read-only/);

  const { base, output } = await serve(
    '--read-only',
    '--from-backup',
    target,
    '--kit',
    kit,
    '--data',
    copy,
    '--key-dir',
    copyKeys,
  );
  assert.match(output(), /Restored snapshot [0-9a-f]{12} .*: 1 resources/);
  const auth = await clientToken(base, client);
  const read = await fetch(`${base}/Patient/emergency-1`, { headers: auth });
  assert.equal(read.status, 200);
  assert.equal(((await read.json()) as { birthDate: string }).birthDate, '1944-04-04');
  const search = await fetch(`${base}/Patient?birthdate=1944-04-04`, { headers: auth });
  assert.equal(((await search.json()) as { total: number }).total, 1);

  const changes: [string, string, unknown][] = [
    ['PUT', 'Patient/emergency-1', { resourceType: 'Patient', id: 'emergency-1', birthDate: '1945-05-05' }],
    ['POST', 'Patient', { resourceType: 'Patient', birthDate: '1946-06-06' }],
    ['DELETE', 'Patient/emergency-1', undefined],
    [
      'POST',
      '',
      {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [{ resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } }],
      },
    ],
  ];
  for (const [method, path, body] of changes) {
    const response = await fetch(`${base}/${path}`, {
      method,
      headers: { ...auth, ...(body ? { 'content-type': 'application/fhir+json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const outcome = (await response.json()) as { resourceType: string; issue?: { diagnostics: string }[] };
    const bundleRefusal = outcome.resourceType === 'Bundle';
    assert.ok(response.status === 403 || bundleRefusal, `${method} ${path}: ${response.status}`);
    assert.match(JSON.stringify(outcome), /read-only emergency copy/, `${method} ${path}`);
  }
  const still = await fetch(`${base}/Patient/emergency-1`, { headers: auth });
  assert.equal(((await still.json()) as { birthDate: string }).birthDate, '1944-04-04', 'nothing changed');
  await stopProcess(server!);

  const verify = chartvault('audit', 'verify', '--data', copy, '--key-dir', copyKeys);
  assert.equal(verify.status, 0, verify.stderr);
  const report = chartvault(
    'report',
    'access',
    '--data',
    copy,
    '--key-dir',
    copyKeys,
    '--patient',
    'emergency-1',
    '--json',
  );
  assert.equal(report.status, 0, report.stderr);
  assert.match(report.stdout, /"read"/, 'the emergency reads are in the copy’s audit trail');
});
