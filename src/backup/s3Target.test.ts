/**
 * The S3 target against a real local S3-compatible server (s3rver on 127.0.0.1): the target contract,
 * the Object Lock headers and retain-until date on every PUT (recorded from the SDK client as sent),
 * bytes stored exactly (no chunk framing), retention extended for exactly the objects the snapshots
 * kept by the retention policy list, once the oldest lock comes within the margin, and pruning: every
 * version's retention asked before a delete, unneeded objects whose lock ran out deleted by version,
 * locked ones reported and left. s3rver has neither versioning nor Object Lock; the pruning tests run
 * against a second s3rver with the Object Lock emulation of s3TestServer.ts in front of it (locks kept
 * from the PUT headers, deletes refused while locked, on a clock the test moves).
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { S3Client } from '@aws-sdk/client-s3';
import { createTempStore, takeSnapshotAt, tempFolder } from '../../test/testStore.ts';
import { loadBackupKey, readSettingsText } from '../store/index.ts';
import { deriveBackupKeys } from './backupKeys.ts';
import { readS3Credentials } from './s3Credentials.ts';
import { DAY_MS, keptObjects, LOCKS_FOLDER } from './s3Retention.ts';
import { parseS3Url, S3Target, type S3TargetOptions } from './s3Target.ts';
import { S3RVER_CREDENTIALS, startLocalS3, type LocalS3 } from './s3TestServer.ts';
import { runBackup } from './backupRun.ts';
import { commandLineAgent } from '../audit/index.ts';
import { targetContract } from './targetContract.ts';
import { verifyTarget } from './verify.ts';
import { pruneTarget } from './prune.ts';
import { DEFAULT_RETENTION, keptSnapshots } from './retention.ts';
import { kindOf, loadSnapshots } from './snapshotManifest.ts';
import { CONFIG_PATH, objectPath } from './repositoryFormat.ts';

interface Sent {
  command: string;
  key: string;
  query: Record<string, unknown>;
  headers: Record<string, string>;
  body: string;
}

const folder = tempFolder('chartvault-s3-');
let s3: LocalS3;
/** s3rver with the Object Lock emulation; its clock is `lockClock`. */
let locking: LocalS3;
let lockClock = Date.now();
let prefixes = 0;

before(async () => {
  s3 = await startLocalS3(join(folder.path, 's3rver'));
  locking = await startLocalS3(join(folder.path, 's3rver-locking'), 'locked-backups', {
    objectLock: { now: () => lockClock },
  });
});
after(async () => {
  await s3.close();
  await locking.close();
  folder.remove();
});

/**
 * A target in a fresh prefix whose SDK client records each request as it goes out. s3rver 3.7 answers
 * PutObjectRetention with 405 (no Object Lock); with `answerRetention`, the recorder answers it as S3
 * does (200, no body) after recording it, so that the sweep around it can be tested. `answer` may
 * answer any call in the server's place (its output, or undefined to send it). `server`: which s3rver.
 */
function makeTarget(
  options: Partial<S3TargetOptions> & {
    answerRetention?: boolean;
    server?: LocalS3;
    answer?: (command: string, input: Record<string, unknown>) => Record<string, unknown> | undefined;
  } = {},
) {
  const { answerRetention, server = s3, answer, ...targetOptions } = options;
  const sent: Sent[] = [];
  const record = (client: S3Client) =>
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const request = args.request as {
          headers: Record<string, string>;
          body: unknown;
          path: string;
          query: Record<string, unknown>;
        };
        const command = context.commandName as string;
        sent.push({
          command,
          key: decodeURIComponent(request.path).replace(`/${server.bucket}/`, ''),
          query: { ...request.query },
          headers: { ...request.headers },
          body: typeof request.body === 'string' ? request.body : '',
        });
        if (answerRetention && command === 'PutObjectRetentionCommand')
          return { output: { $metadata: { httpStatusCode: 200 } }, response: {} };
        const output = answer?.(command, args.input as Record<string, unknown>);
        if (output) return { output: { ...output, $metadata: { httpStatusCode: 200 } }, response: {} };
        return next(args);
      },
      { step: 'finalizeRequest', name: 'recordRequests' },
    );
  const target = new S3Target({
    bucket: server.bucket,
    prefix: `t${++prefixes}/`,
    endpoint: server.endpoint,
    credentials: S3RVER_CREDENTIALS,
    onClient: record,
    ...targetOptions,
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

test('s3 target: what the kept snapshots need stays locked: extended once the oldest lock is within the margin', async () => {
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
    const needed = await keptObjects(target, keys, third.name);
    assert.deepEqual(
      extended()
        .map((r) => r.path)
        .sort(),
      [...needed].sort(),
      "exactly the objects the kept snapshots list, the first snapshot's among them",
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

test('s3 target over days: the lock keeping extends exactly what kept snapshots list; prune removes what ran out and reports what is locked', async () => {
  const temp = createTempStore();
  const storeId = JSON.parse(readSettingsText(temp.dataDir)).storeId as string;
  const kit = { storeId, backupKey: loadBackupKey(temp.keyDir, storeId).key };
  const keys = deriveBackupKeys(kit.backupKey);
  const HOUR_MS = DAY_MS / 24;
  // 3-day locks, extended a day before they end: a sweep every two days.
  const start = Date.UTC(2026, 0, 5, 23, 0, 0);
  lockClock = start;
  const { target, sent } = makeTarget({
    server: locking,
    now: () => lockClock,
    retentionDays: 3,
    marginDays: 1,
  });
  const prefix = `t${prefixes}/`;
  const lockOf = (path: string) => locking.lockOf(`${prefix}${path}`);
  /** What a kept snapshot lists, worked out here from the manifests and the policy. */
  const keptNow = async () => {
    const { snapshots } = await loadSnapshots(target, keys);
    const kept = keptSnapshots({
      snapshots,
      policy: DEFAULT_RETENTION,
      now: new Date(lockClock),
      timeOf: (s) => new Date(s.manifest.createdAt),
    });
    const paths = new Set([CONFIG_PATH]);
    for (const s of snapshots.filter((s) => kept.has(s.name))) {
      paths.add(objectPath('snapshot', s.name));
      for (const p of s.manifest.packs) paths.add(objectPath(kindOf(p), p.name));
    }
    return { snapshots, kept, paths };
  };
  const everything = async () => [...(await target.list('snapshots/')), ...(await target.list('packs/'))];
  try {
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const { resource } = await temp.store.create({
        resourceType: 'Patient',
        name: [{ family: `Ilves${i}` }],
      });
      ids.push(resource.id!);
    }
    // A snapshot every 6 hours (23:00, 05:00, 11:00, 17:00): the 23:00 one is a day-level full snapshot
    // that packs the day's changes again, the others hour-level ones that pack their 6 hours.
    let last: string | undefined;
    let sweeps = 0;
    // Data objects no snapshot lists (left by interrupted runs): an early one, whose lock runs out, and
    // a late one, still locked when prune runs.
    const strays = [`packs/ee/${'e'.repeat(64)}`, `packs/ef/${'ef'.repeat(32)}`];
    for (let i = 0; i <= 26; i++) {
      lockClock = start + i * 6 * HOUR_MS;
      if (i === 1 || i === 25) await target.putIfAbsent(strays[i === 1 ? 0 : 1]!, Buffer.from(`stray ${i}`));
      await temp.store.update({
        resourceType: 'Patient',
        id: ids[i % ids.length],
        name: [{ family: `Ilves${i}b` }],
      });
      const before = sent.length;
      const taken = await takeSnapshotAt(temp, target, new Date(lockClock), last);
      assert.equal(taken.unchanged, false);
      last = taken.name;
      await target.afterSnapshot(taken.name, keys);
      const extended = sent
        .slice(before)
        .filter((r) => r.command === 'PutObjectRetentionCommand')
        .map((r) => r.key.slice(prefix.length));
      if (target.lastLockKeeping!.extended === 0) {
        assert.deepEqual(extended, []);
        continue;
      }
      sweeps++;
      const { snapshots, kept, paths } = await keptNow();
      assert.deepEqual(extended.sort(), [...paths].sort(), `sweep at ${new Date(lockClock).toISOString()}`);
      assert.ok(
        kept.size > 1 && [...kept].some((name) => name !== taken.name),
        'more than the newest snapshot: every one retention keeps',
      );
      const until = target.lastLockKeeping!.until!;
      for (const path of paths) assert.equal(lockOf(path)?.retainUntil?.getTime(), until.getTime(), path);
      // What only dropped snapshots list keeps the lock it had: it runs out.
      const dropped = (await everything()).filter((p) => !paths.has(p));
      if (snapshots.length > kept.size) {
        assert.ok(dropped.length > 0, 'dropped snapshots leave objects to run out');
        for (const path of dropped) assert.ok(lockOf(path)!.retainUntil!.getTime() < until.getTime(), path);
      }
    }
    assert.ok(sweeps >= 3, `${sweeps} sweeps`);

    // Prune a day after the last snapshot.
    lockClock += DAY_MS;
    const present = await everything();
    const lockBefore = new Map(present.map((p) => [p, lockOf(p)!.retainUntil!.getTime()]));
    const { kept } = await keptNow();
    const report = await pruneTarget({
      target,
      keys,
      storeId,
      policy: DEFAULT_RETENTION,
      now: new Date(lockClock),
    });
    const after = new Set(await everything());
    assert.ok(report.removed.length > 0 && report.locked.length > 0, JSON.stringify(report));
    for (const path of report.removed) {
      assert.ok(!after.has(path), `${path} is gone`);
      assert.ok(lockBefore.get(path)! <= lockClock, `${path} was removed only once its lock ran out`);
      assert.equal(lockOf(path), undefined);
    }
    for (const path of report.locked) {
      assert.ok(after.has(path), `${path} is still there`);
      assert.ok(lockBefore.get(path)! > lockClock, `${path} is reported locked while it is`);
    }
    assert.ok(
      report.removed.some((p) => p.startsWith('packs/')),
      'data objects were removed',
    );
    assert.ok(
      report.removed.some((p) => p.startsWith('snapshots/')),
      'manifests were removed',
    );
    assert.ok(report.removed.includes(strays[0]!), 'the early stray is removed');
    assert.ok(report.locked.includes(strays[1]!), 'the late stray is locked');
    assert.ok(
      report.locked.some((p) => p.startsWith('snapshots/')),
      'dropped snapshots still locked',
    );
    // Versions deleted one by one, by id, after each one's retention was asked.
    const deletes = sent.filter((r) => r.command === 'DeleteObjectCommand');
    assert.equal(deletes.length, report.removed.length);
    for (const d of deletes) assert.match(String(d.query.versionId), /^v\d+$/);
    // What is left: every kept snapshot; dropped ones only while locked; no data object whose lock ran
    // out and that no snapshot left lists.
    const { snapshots } = await loadSnapshots(target, keys);
    for (const name of kept) assert.ok(after.has(objectPath('snapshot', name)), `kept ${name} is there`);
    for (const s of snapshots.filter((s) => !kept.has(s.name)))
      assert.ok(report.locked.includes(objectPath('snapshot', s.name)));
    const listed = new Set(
      snapshots.flatMap((s) => s.manifest.packs.map((p) => objectPath(kindOf(p), p.name))),
    );
    for (const path of [...after].filter((p) => p.startsWith('packs/')))
      assert.ok(listed.has(path) || report.locked.includes(path), `${path} is needed or locked`);
    const verified = await verifyTarget(target, kit, true);
    assert.deepEqual(verified.problems, []);
    assert.equal(verified.snapshots.length, snapshots.length);

    // Once the locks of the dropped ones have run out, a second prune removes them too.
    lockClock += 3 * DAY_MS;
    const again = await pruneTarget({
      target,
      keys,
      storeId,
      policy: DEFAULT_RETENTION,
      now: new Date(lockClock),
    });
    assert.deepEqual(again.locked, []);
    for (const path of report.locked) assert.ok(again.removed.includes(path), `${path} went once unlocked`);
    assert.deepEqual((await verifyTarget(target, kit, true)).problems, []);
  } finally {
    target.close();
    await temp.cleanup();
  }
});

test('s3 target: remove asks the retention of every version, deletes none while one is locked, else each by its id, the current one last', async () => {
  let now = Date.parse('2031-06-01T00:00:00Z');
  const day = (n: number) => new Date(Date.parse('2031-06-01T00:00:00Z') + n * DAY_MS);
  const path = `packs/ab/${'ab'.repeat(32)}`;
  let key = '';
  // A versioned bucket as S3 answers it, over two pages: an old version, then the current one, a delete
  // marker, and a version of a longer key with this key as its prefix (not this object's).
  const until: Record<string, Date> = { old: day(-2), current: day(3) };
  const { target, sent } = makeTarget({
    now: () => now,
    answer: (command, input) => {
      if (command === 'ListObjectVersionsCommand')
        return input.KeyMarker === undefined
          ? {
              Versions: [{ Key: key, VersionId: 'old', IsLatest: false }],
              IsTruncated: true,
              NextKeyMarker: key,
              NextVersionIdMarker: 'old',
            }
          : {
              Versions: [
                { Key: key, VersionId: 'current', IsLatest: true },
                { Key: `${key}-other`, VersionId: 'other', IsLatest: true },
              ],
              DeleteMarkers: [{ Key: key, VersionId: 'marker', IsLatest: false }],
              IsTruncated: false,
            };
      if (command === 'GetObjectRetentionCommand')
        return { Retention: { Mode: 'COMPLIANCE', RetainUntilDate: until[input.VersionId as string] } };
      if (command === 'DeleteObjectCommand') return {};
      return undefined;
    },
  });
  key = `t${prefixes}/${path}`;
  const calls = (command: string) => sent.filter((r) => r.command === command);
  try {
    assert.equal(await target.remove(path), 'locked', 'the current version is locked for 3 more days');
    assert.deepEqual(
      calls('GetObjectRetentionCommand').map((r) => r.query.versionId),
      ['old', 'current'],
    );
    assert.equal(calls('DeleteObjectCommand').length, 0, 'nothing is deleted while a version is locked');
    assert.equal(calls('ListObjectVersionsCommand')[0]!.query.prefix, key);

    now = day(3).getTime() + 60_000;
    assert.equal(await target.remove(path), 'locked', 'a minute after its date: it may be the server clock');
    assert.equal(calls('DeleteObjectCommand').length, 0);
    now = day(3).getTime() + 10 * 60_000;
    assert.equal(await target.remove(path), 'removed');
    const deleted = calls('DeleteObjectCommand');
    assert.deepEqual(
      deleted.map((r) => r.query.versionId),
      ['old', 'marker', 'current'],
      'every version and marker of this key, by id, the current one last; not the longer key',
    );
    assert.ok(deleted.every((r) => r.key === key));
  } finally {
    target.close();
  }
});

test('s3 target: without versioning (s3rver) remove asks the retention of the key, then deletes the key; listStored gives sizes and times', async () => {
  const { target, sent } = makeTarget();
  const prefix = `t${prefixes}`;
  const onDisk = (name: string) =>
    existsSync(join(folder.path, 's3rver', s3.bucket, prefix, 'packs', 'ab', `${name}._S3rver_object`));
  try {
    await target.putIfAbsent('packs/ab/one', Buffer.from('one'));
    await target.putIfAbsent('packs/ab/three', Buffer.from('three'));
    const stored = await target.listStored('packs/');
    assert.deepEqual(
      stored.map((o) => [o.path, o.size]),
      [
        ['packs/ab/one', 3],
        ['packs/ab/three', 5],
      ],
    );
    for (const o of stored) assert.ok(Math.abs(o.storedAt.getTime() - Date.now()) < 60_000);

    assert.equal(await target.remove('packs/ab/one'), 'removed');
    assert.ok(!onDisk('one') && onDisk('three'));
    assert.deepEqual(await target.list('packs/'), ['packs/ab/three']);
    const removal = sent.filter((r) => r.command !== 'PutObjectCommand' && r.command !== 'HeadObjectCommand');
    assert.deepEqual(
      removal.map((r) => r.command),
      [
        'ListObjectsV2Command',
        'ListObjectVersionsCommand', // 405 from s3rver: no versioning
        'GetObjectRetentionCommand', // 501 from s3rver: no Object Lock
        'DeleteObjectCommand',
        'ListObjectsV2Command',
      ],
    );
    assert.equal(removal[3]!.query.versionId, undefined);
    // The server is known to have no versioning now: one request less per object.
    assert.equal(await target.remove('packs/ab/three'), 'removed');
    assert.equal(sent.filter((r) => r.command === 'ListObjectVersionsCommand').length, 1);
    assert.equal(await target.remove('packs/ab/three'), 'removed', 'an absent object is removed already');
    assert.deepEqual(await target.list('packs/'), []);
  } finally {
    target.close();
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
