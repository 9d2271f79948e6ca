/**
 * Backups to S3 through the command line, against a local S3-compatible server (s3rver, in this test
 * process): a demo practice backed up to s3://, a patient changed and backed up again, verified with
 * the kit, restored into a new store with equal counts; no patient name in the server's files, no
 * secret in the remembered settings.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { S3RVER_CREDENTIALS, startLocalS3, type LocalS3 } from '../../src/backup/s3TestServer.ts';
import { S3_SETTINGS_FILE } from '../../src/backup/s3Settings.ts';
import { openStore } from '../../src/store/index.ts';
import type { Resource } from '../../src/fhir/types.ts';
import { CLI } from '../cli.ts';
import { grepFor } from '../backupHelpers.ts';
import { tempFolder } from '../testStore.ts';

const folder = tempFolder('chartvault-backup-s3-');
const serverFiles = join(folder.path, 's3rver');
// Long and unusual, so that ciphertext cannot hold it by chance.
const FAMILY = 'Wolkenkrabbertjesdijk';
let s3: LocalS3;

before(async () => {
  s3 = await startLocalS3(serverFiles);
});
after(async () => {
  await s3.close();
  folder.remove();
});

/** The CLI as a child process, without blocking this process (which serves S3 to it). */
async function chartvault(env: Record<string, string>, ...args: string[]) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  try {
    const { stdout, stderr } = await promisify(execFile)('node', [CLI, ...args], {
      env: { ...clean, ...env },
      encoding: 'utf8',
    });
    return { status: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { status: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('demo practice to s3://, a patient changed, backed up again, verified and restored from S3 with the kit alone', async () => {
  const data = join(folder.path, 'data');
  const keys = join(folder.path, 'keys');
  const kit = join(folder.path, 'kit.html');
  const credentials = join(folder.path, 'credentials');
  writeFileSync(
    credentials,
    `[default]\naws_access_key_id = ${S3RVER_CREDENTIALS.accessKeyId}\naws_secret_access_key = ${S3RVER_CREDENTIALS.secretAccessKey}\n`,
  );
  chmodSync(credentials, 0o600);
  const url = `s3://${s3.bucket}/clinic-a`;
  const none = {};
  const fromEnv = {
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
  };

  /** `chartvault backup run` of the practice's store to the bucket. */
  const backupRunAt = (env: Record<string, string>, ...extra: string[]) =>
    chartvault(env, 'backup', 'run', '--data', data, '--key-dir', keys, '--to', url, ...extra);

  const demo = await chartvault(
    none,
    'demo',
    '--data',
    data,
    '--key-dir',
    keys,
    '--no-serve',
    '--patients',
    '8',
  );
  assert.equal(demo.status, 0, demo.stderr);
  assert.equal((await chartvault(none, 'kit', '--data', data, '--key-dir', keys, '--out', kit)).status, 0);

  const noCredentials = await backupRunAt(none, '--s3-endpoint', s3.endpoint);
  assert.equal(noCredentials.status, 1);
  assert.match(
    noCredentials.stderr,
    /no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pass --s3-credentials FILE/,
  );

  const first = await backupRunAt(none, '--s3-endpoint', s3.endpoint, '--s3-credentials', credentials);
  assert.equal(first.status, 0, first.stderr);
  assert.match(
    first.stdout,
    /Snapshot [0-9a-f]{12} \(#1\) in s3:\/\/chartvault-backups\/clinic-a\/ at http:\/\/127\.0\.0\.1:\d+/,
  );
  const remembered = readFileSync(join(data, S3_SETTINGS_FILE), 'utf8');
  assert.deepEqual(JSON.parse(remembered), {
    [url]: { endpoint: s3.endpoint, credentials },
  });
  assert.ok(
    !remembered.includes(S3RVER_CREDENTIALS.secretAccessKey),
    'the file names the credentials file only',
  );

  // A patient changed: a second version, and the second run uses the remembered settings.
  const opened = openStore(data, keys);
  const { resources: patients } = await opened.store.search({
    types: ['Patient'],
    criteria: [],
    sort: [],
    count: 100,
    offset: 0,
    total: 'none',
  });
  const names = patients.flatMap((p) =>
    ((p as { name?: { family?: string }[] }).name ?? []).map((n) => n.family!),
  );
  const changed = { ...patients[0]!, name: [{ family: FAMILY, given: ['Ottoline'] }] } as Resource;
  await opened.store.update(changed);
  const counts = await opened.store.countByType();
  await opened.store.close();
  const second = await backupRunAt(none);
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stdout, /Snapshot [0-9a-f]{12} \(#2\)/);

  // On another machine: no data directory, credentials from the environment.
  const verifyFromEnv = (...options: string[]) =>
    chartvault(
      fromEnv,
      'backup',
      'verify',
      '--from',
      url,
      '--kit',
      kit,
      '--read-data',
      ...options,
      '--s3-endpoint',
      s3.endpoint,
    );
  const verify = await verifyFromEnv();
  assert.equal(verify.status, 0, verify.stderr);
  assert.match(verify.stdout, /2 snapshots, \d+ packs present, \d+ read and decrypted/);
  assert.match(verify.stdout, /Verification passed/);
  const sampled = await verifyFromEnv('--sample', '50%');
  assert.equal(sampled.status, 0, sampled.stderr);
  assert.match(sampled.stdout, /tonight's share \([12] of 2\): \d+ read and decrypted/);

  const restored = join(folder.path, 'restored');
  const restore = await chartvault(
    fromEnv,
    'restore',
    '--from',
    url,
    '--kit',
    kit,
    '--data',
    restored,
    '--key-dir',
    join(folder.path, 'restored-keys'),
    '--s3-endpoint',
    s3.endpoint,
  );
  assert.equal(restore.status, 0, restore.stderr);
  const back = openStore(restored, join(folder.path, 'restored-keys'));
  assert.deepEqual(await back.store.countByType(), counts);
  const history = await back.store.history({
    resourceType: 'Patient',
    id: patients[0]!.id!,
    count: 10,
    offset: 0,
  });
  assert.equal(history.versions.length, 2, 'the changed patient has both versions');
  await back.store.close();

  assert.ok(names.length >= 8);
  for (const name of [...names, FAMILY])
    assert.equal(grepFor(serverFiles, name, { ignoreCase: true }), '', `${name} is not in S3`);
});
