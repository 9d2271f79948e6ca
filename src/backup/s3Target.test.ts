/**
 * The S3 target against a real local S3-compatible server (s3rver on 127.0.0.1): the target contract,
 * the Object Lock headers and retain-until date on every PUT (recorded from the SDK client as sent),
 * bytes stored exactly (no chunk framing), and retention extended for exactly the objects the newest
 * chain needs, once the oldest lock comes within the margin.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { S3Client } from '@aws-sdk/client-s3';
import { createTempStore, tempFolder } from '../../test/testStore.ts';
import { loadBackupKey, readSettingsText } from '../store/index.ts';
import { deriveBackupKeys } from './backupKeys.ts';
import { readS3Credentials } from './s3Credentials.ts';
import { chainObjects, DAY_MS, LOCKS_FOLDER } from './s3Retention.ts';
import { parseS3Url, S3Target, type S3TargetOptions } from './s3Target.ts';
import { S3RVER_CREDENTIALS, startLocalS3, type LocalS3 } from './s3TestServer.ts';
import { runBackup } from './backupRun.ts';
import { commandLineAgent } from '../audit/index.ts';
import { targetContract } from './targetContract.ts';
import { verifyTarget } from './verify.ts';

interface Sent {
  command: string;
  key: string;
  headers: Record<string, string>;
  body: string;
}

const folder = tempFolder('chartvault-s3-');
let s3: LocalS3;
let prefixes = 0;

before(async () => {
  s3 = await startLocalS3(join(folder.path, 's3rver'));
});
after(async () => {
  await s3.close();
  folder.remove();
});

/**
 * A target in a fresh prefix whose SDK client records each request as it goes out. s3rver 3.7 answers
 * PutObjectRetention with 405 (no Object Lock); with `answerRetention`, the recorder answers it as S3
 * does (200, no body) after recording it, so that the sweep around it can be tested.
 */
function makeTarget(options: Partial<S3TargetOptions> & { answerRetention?: boolean } = {}) {
  const sent: Sent[] = [];
  const record = (client: S3Client) =>
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const request = args.request as { headers: Record<string, string>; body: unknown; path: string };
        const command = context.commandName as string;
        sent.push({
          command,
          key: decodeURIComponent(request.path).replace(`/${s3.bucket}/`, ''),
          headers: { ...request.headers },
          body: typeof request.body === 'string' ? request.body : '',
        });
        if (options.answerRetention && command === 'PutObjectRetentionCommand')
          return { output: { $metadata: { httpStatusCode: 200 } }, response: {} };
        return next(args);
      },
      { step: 'finalizeRequest', name: 'recordRequests' },
    );
  const target = new S3Target({
    bucket: s3.bucket,
    prefix: `t${++prefixes}/`,
    endpoint: s3.endpoint,
    credentials: S3RVER_CREDENTIALS,
    onClient: record,
    ...options,
  });
  return { target, sent };
}

targetContract('s3', async () => {
  const { target } = makeTarget();
  return { target, cleanup: async () => target.close() };
});

test('s3 target: every PUT asks for compliance-mode Object Lock until now + retention, and only if absent', async () => {
  const now = Date.parse('2030-03-01T10:00:00.250Z');
  const { target, sent } = makeTarget({ now: () => now, retentionDays: 45 });
  try {
    await target.putIfAbsent('packs/ab/one', Buffer.from('one'));
    await target.putIfAbsent('snapshots/s1', Buffer.alloc(70_000, 3));
    await target.putIfAbsent('packs/ab/one', Buffer.from('one'));
    const puts = sent.filter((s) => s.command === 'PutObjectCommand');
    assert.deepEqual(
      puts.map((p) => p.key),
      ['t' + prefixes + '/packs/ab/one', 't' + prefixes + '/snapshots/s1'],
      'the second put of the same bytes finds the object and writes nothing',
    );
    for (const put of puts) {
      assert.equal(put.headers['x-amz-object-lock-mode'], 'COMPLIANCE');
      assert.equal(put.headers['x-amz-object-lock-retain-until-date'], '2030-04-15T10:00:01Z');
      assert.equal(put.headers['if-none-match'], '*');
      assert.ok(put.headers['content-md5'], 'Object Lock needs an integrity header');
      assert.equal(put.headers['content-encoding'], undefined, 'no aws-chunked framing');
    }
  } finally {
    target.close();
  }
});

test('s3 target: the server stores the exact bytes (no chunk framing), under the prefix', async () => {
  const { target } = makeTarget();
  try {
    const bytes = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 31) % 256));
    await target.putIfAbsent('packs/cd/exact', bytes);
    const onDisk = readFileSync(
      join(folder.path, 's3rver', s3.bucket, `t${prefixes}`, 'packs', 'cd', 'exact._S3rver_object'),
    );
    assert.ok(onDisk.equals(bytes));
    assert.deepEqual(await target.list(''), ['packs/cd/exact']);
  } finally {
    target.close();
  }
});

test('s3 target: the newest chain is kept locked: extended once the oldest lock is within the margin', async () => {
  const temp = createTempStore();
  const storeId = JSON.parse(readSettingsText(temp.dataDir)).storeId as string;
  const kit = { storeId, backupKey: loadBackupKey(temp.keyDir, storeId).key };
  const keys = deriveBackupKeys(kit.backupKey);
  let now = Date.now();
  const { target, sent } = makeTarget({ now: () => now, answerRetention: true });
  // A backup run as the CLI and the schedule make it: the snapshot, then afterSnapshot.
  const snap = () =>
    runBackup({
      store: temp.store,
      dataDir: temp.dataDir,
      keyDir: temp.keyDir,
      storeId,
      target,
      agent: commandLineAgent(),
    });
  const extended = () =>
    sent
      .filter((s) => s.command === 'PutObjectRetentionCommand')
      .map((r) => ({ ...r, path: r.key.slice(`t${prefixes}/`.length) }));
  try {
    await temp.store.create({ resourceType: 'Patient', name: [{ family: 'Okonkwo-Lindqvist' }] });
    const first = await snap();
    // A pack left by an interrupted run: no snapshot needs it, so its lock is left to run out.
    const leftOver = `packs/ee/${'e'.repeat(64)}`;
    await target.putIfAbsent(leftOver, Buffer.from('left over'));
    assert.equal(extended().length, 0, 'fresh locks are not touched');

    now += 10 * DAY_MS;
    await temp.store.create({ resourceType: 'Patient', name: [{ family: 'Vasquez-Thornbury' }] });
    await snap();
    assert.equal(extended().length, 0, 'locks 20 days from their end are not extended');

    now += 14 * DAY_MS;
    await temp.store.create({ resourceType: 'Patient', name: [{ family: 'Abernathy-Osei' }] });
    const third = await snap();
    const needed = await chainObjects(target, keys, third.name);
    assert.deepEqual(
      extended()
        .map((r) => r.path)
        .sort(),
      [...needed].sort(),
      "exactly the objects of the newest chain, the first snapshot's among them",
    );
    assert.ok(needed.includes(`snapshots/${first.name}`));
    assert.ok(!needed.includes(leftOver));
    const until = new Date(Math.ceil((now + 30 * DAY_MS) / 1000) * 1000).toISOString().replace('.000Z', 'Z');
    for (const r of extended()) {
      assert.match(r.body, /<Mode>COMPLIANCE<\/Mode>/);
      assert.ok(r.body.includes(`<RetainUntilDate>${until}</RetainUntilDate>`), r.body);
    }
    assert.equal(extended().at(-1)!.path, 'config', 'the config is extended last');
    assert.equal((await target.list(LOCKS_FOLDER)).length, 1, 'the sweep is recorded');

    const sweep = extended().length;
    now += 2 * DAY_MS;
    await temp.store.create({ resourceType: 'Patient', name: [{ family: 'Nakamura-Ferreira' }] });
    await snap();
    assert.equal(extended().length, sweep, 'after a sweep, the next one is due only near its end');

    const report = await verifyTarget(target, kit, true);
    assert.deepEqual(report.problems, []);
    assert.equal(report.snapshots.length, 4);
  } finally {
    target.close();
    await temp.cleanup();
  }
});

test('s3 target: a server without Object Lock (s3rver) is named as such when retention is extended', async () => {
  const { target } = makeTarget();
  try {
    await target.putIfAbsent('packs/ab/x', Buffer.from('x'));
    await assert.rejects(
      target.extendRetention(['packs/ab/x'], new Date(Date.now() + DAY_MS)),
      /extending the retention of packs\/ab\/x failed: the server does not implement this .*Object Lock/,
    );
  } finally {
    target.close();
  }
});

test('s3 target: refusals name the fix, never a credential', async () => {
  const wrong = new S3Target({
    bucket: s3.bucket,
    prefix: 'x/',
    endpoint: s3.endpoint,
    credentials: { accessKeyId: 'AKIAUNKNOWNKEY', secretAccessKey: 'not-the-secret-123' },
  });
  const missing = new S3Target({
    bucket: 'no-such-bucket',
    prefix: '',
    endpoint: s3.endpoint,
    credentials: S3RVER_CREDENTIALS,
  });
  const closed = new S3Target({
    bucket: s3.bucket,
    prefix: '',
    endpoint: 'http://127.0.0.1:1',
    credentials: S3RVER_CREDENTIALS,
  });
  try {
    await assert.rejects(wrong.list('packs/'), (error: Error) => {
      assert.match(error.message, /access denied: check the key and the bucket policy/);
      assert.ok(!error.message.includes('not-the-secret-123'));
      return true;
    });
    await assert.rejects(
      missing.putIfAbsent('packs/ab/x', Buffer.from('x')),
      /no-such-bucket does not exist/,
    );
    await assert.rejects(closed.get('config'), /cannot reach the S3 endpoint/);
  } finally {
    wrong.close();
    missing.close();
    closed.close();
  }
});

test('s3 target: s3:// addresses and credentials files', () => {
  assert.deepEqual(parseS3Url('s3://practice-backups/clinic-a'), {
    bucket: 'practice-backups',
    prefix: 'clinic-a/',
  });
  assert.deepEqual(parseS3Url('s3://practice-backups'), { bucket: 'practice-backups', prefix: '' });
  assert.deepEqual(parseS3Url('s3://practice-backups/a/b/'), { bucket: 'practice-backups', prefix: 'a/b/' });
  assert.throws(() => parseS3Url('s3://Bad_Bucket/x'), /not an S3 target/);
  assert.throws(() => parseS3Url('s3://bucket/../x'), /prefix may hold/);

  const file = join(folder.path, 'credentials');
  writeFileSync(
    file,
    '[default]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = c2VjcmV0\n[other]\n',
  );
  chmodSync(file, 0o644);
  assert.throws(
    () => readS3Credentials(file),
    /can be read by other users; make it private first: chmod 600/,
  );
  chmodSync(file, 0o600);
  assert.deepEqual(readS3Credentials(file), { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'c2VjcmV0' });
  assert.throws(() => readS3Credentials(file, 'other'), /no \[other\] section/);
});
