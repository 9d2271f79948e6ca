/**
 * The receiver target over real HTTPS on 127.0.0.1, against a real receiver and real files: the
 * target contract, pairing and its failures, mutual authentication, write-once with alarms, name
 * checks, limits, and retention pruning that keeps what newer snapshots need.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createTempStore, takeSnapshotAt, tempFolder } from '../../test/testStore.ts';
import { deriveBackupKeys } from './backupKeys.ts';
import { loadBackupKey } from '../store/keyStore.ts';
import { makeClientCertificate } from './receiver/clientCertificate.ts';
import { createPairingCode } from './receiver/pairingCodes.ts';
import { pairWithReceiver } from './receiver/practicePairings.ts';
import { ReceiverClient, type ReceiverConnection } from './receiver/receiverClient.ts';
import { ReceiverHome } from './receiver/receiverHome.ts';
import { pruneReceiver } from './receiver/receiverPrune.ts';
import { startReceiver, type RunningReceiver } from './receiver/receiverServer.ts';
import { receiverStatus } from './receiver/receiverStatus.ts';
import { ReceiverTarget } from './receiverTarget.ts';
import { restoreSnapshot } from './restore.ts';
import { objectPath } from './repositoryFormat.ts';
import { kindOf, loadSnapshots } from './snapshotManifest.ts';
import { takeSnapshot } from './snapshotWriter.ts';
import { targetContract } from './targetContract.ts';
import { verifyTarget } from './verify.ts';

const folder = tempFolder('chartvault-receiver-');
const logged: string[] = [];
let shared: Promise<{ receiver: RunningReceiver; home: ReceiverHome }> | undefined;
const closers: (() => unknown)[] = [];

async function receiverAt(dir: string, extra: Partial<Parameters<typeof startReceiver>[0]> = {}) {
  const receiver = await startReceiver({
    dataDir: dir,
    host: '127.0.0.1',
    port: 0,
    log: (line) => logged.push(line),
    ...extra,
  });
  closers.push(() => receiver.close());
  return { receiver, home: new ReceiverHome(dir) };
}

// Many pairings from one address in a few seconds: a looser limit than the default for strangers.
const sharedReceiver = () =>
  (shared ??= receiverAt(join(folder.path, 'receiver'), { anonymousRate: { burst: 100, perSecond: 1 } }));

after(async () => {
  for (const close of closers) await close();
  folder.remove();
});

/** Pairs a new client (a fresh practice) with the receiver, as `backup pair` does, without a store. */
/** Pairs a new client certificate with the receiver, by a new code unless one is given. */
async function pairClient(
  receiver: RunningReceiver,
  home: ReceiverHome,
  code = createPairingCode(home.pairingFolder, { label: 'test practice' }).code,
): Promise<{ connection: ReceiverConnection; practice: string }> {
  const { cert, key } = await makeClientCertificate();
  const connection = { url: receiver.url, fingerprint: receiver.fingerprint, cert, key };
  const client = new ReceiverClient(connection);
  const response = await client.request({
    method: 'POST',
    path: '/v1/pair',
    body: Buffer.from(JSON.stringify({ code })),
  });
  client.close();
  assert.equal(response.status, 201, response.body.toString());
  return { connection, practice: (JSON.parse(response.body.toString()) as { practice: string }).practice };
}

targetContract('receiver', async () => {
  const { receiver, home } = await sharedReceiver();
  const { connection, practice } = await pairClient(receiver, home);
  const target = new ReceiverTarget(connection, practice);
  return { target, cleanup: async () => target.close() };
});

/** A raw HTTPS request with an optional client certificate, for what a well-behaved client never sends. */
function rawRequest(
  receiver: RunningReceiver,
  options: {
    method: string;
    path: string;
    cert?: string;
    key?: string;
    body?: Buffer;
    headers?: Record<string, string>;
  },
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: receiver.port,
        method: options.method,
        path: options.path,
        cert: options.cert,
        key: options.key,
        rejectUnauthorized: false,
        agent: false,
        headers: options.headers,
      },
      (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

test('pairing: a wrong, an expired and a reused code, and a wrong fingerprint, each fail with a clear message', async () => {
  const { receiver, home } = await sharedReceiver();
  const store = createTempStore();
  try {
    const pair = (code: string, fingerprint = receiver.fingerprint) =>
      pairWithReceiver({
        dataDir: store.dataDir,
        keyDir: store.keyDir,
        url: receiver.url,
        code,
        fingerprint,
      });
    await assert.rejects(
      pair('AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-2345'),
      /refused the pairing: wrong pairing code/,
    );
    await assert.rejects(pair('not-a-code'), /not a pairing code/);
    const expired = createPairingCode(home.pairingFolder, {
      label: 'late',
      now: new Date(Date.now() - 16 * 60 * 1000),
    });
    await assert.rejects(pair(expired.code), /pairing code expired at .* valid 15 minutes/);
    const { code } = createPairingCode(home.pairingFolder, { label: 'clinic' });
    const wrongFingerprint = 'AB:'.repeat(31) + 'AB';
    await assert.rejects(pair(code, wrongFingerprint), (error: Error) => {
      assert.match(
        error.message,
        /presented the certificate SHA256 .*not the pinned AB:AB.*Nothing was sent.*man in the middle/,
      );
      return true;
    });
    await assert.rejects(pair(code, 'xyz'), /not a SHA-256 fingerprint/);
    // The code survived the wrong fingerprint (it was never sent), pairs once, and then is used up.
    const pairing = await pair(code);
    assert.match(pairing.practice, /^[0-9a-f]{16}$/);
    assert.equal(home.practice(pairing.practice).label, 'clinic');
    const other = createTempStore();
    try {
      await assert.rejects(
        pairWithReceiver({
          dataDir: other.dataDir,
          keyDir: other.keyDir,
          url: receiver.url,
          code,
          fingerprint: receiver.fingerprint,
        }),
        /already used/,
      );
    } finally {
      await other.cleanup();
    }
    assert.equal(statSync(join(home.root, 'receiver-key.pem')).mode & 0o777, 0o600);
    // The practice's folder is named by the random id, never by its label; its key is private.
    assert.ok(existsSync(home.practiceFolder(pairing.practice)));
    assert.ok(!readdirSync(join(home.root, 'practices')).some((name) => name.includes('clinic')));
    assert.equal(statSync(pairing.keyFile).mode & 0o777, 0o600);
    assert.ok(
      !readFileSync(join(home.pairingFolder, readdirSync(home.pairingFolder)[0]!), 'utf8').includes(code),
    );
  } finally {
    await store.cleanup();
  }
});

test('requests without a client certificate, or with an unpaired one, are refused', async () => {
  const { receiver, home } = await sharedReceiver();
  const { connection } = await pairClient(receiver, home);
  const none = await rawRequest(receiver, { method: 'GET', path: '/v1/list?prefix=packs/' });
  assert.equal(none.status, 401);
  assert.match(none.text, /no client certificate/);
  const stranger = await makeClientCertificate();
  const unpaired = await rawRequest(receiver, { method: 'GET', path: '/v1/objects/config', ...stranger });
  assert.equal(unpaired.status, 403);
  assert.match(unpaired.text, /not paired/);
  const put = await rawRequest(receiver, {
    method: 'PUT',
    path: '/v1/objects/config',
    ...stranger,
    body: Buffer.from('x'),
  });
  assert.equal(put.status, 403);
  const paired = await rawRequest(receiver, {
    method: 'GET',
    path: '/v1/list?prefix=packs/',
    cert: connection.cert,
    key: connection.key,
  });
  assert.equal(paired.status, 200);
  assert.deepEqual(JSON.parse(paired.text), { objects: [] });
});

test('no overwrite and no delete over the network: other bytes are refused and alarmed', async () => {
  const { receiver, home } = await sharedReceiver();
  const { connection, practice } = await pairClient(receiver, home);
  const target = new ReceiverTarget(connection, practice);
  try {
    await target.putIfAbsent('snapshots/abc123', Buffer.from('original'));
    const alarmsBefore = home.alarms().length;
    await assert.rejects(
      target.putIfAbsent('snapshots/abc123', Buffer.from('ransom')),
      /already exists with other content; it was not overwritten. The receiver raised an alarm/,
    );
    const alarms = home.alarms();
    assert.equal(alarms.length, alarmsBefore + 1);
    assert.equal(alarms.at(-1)!.practice, practice);
    assert.equal(alarms.at(-1)!.object, 'snapshots/abc123');
    assert.ok(logged.some((line) => line.startsWith('ALARM:') && line.includes(practice)));
    for (const method of ['DELETE', 'POST', 'PATCH']) {
      const response = await rawRequest(receiver, {
        method,
        path: '/v1/objects/snapshots/abc123',
        cert: connection.cert,
        key: connection.key,
      });
      assert.equal(response.status, 405, method);
      assert.match(response.text, /never deletes or replaces/);
    }
    assert.deepEqual(await target.get('snapshots/abc123'), Buffer.from('original'));
    const status = await receiverStatus(home.root);
    const mine = status.practices.find((p) => p.id === practice)!;
    assert.equal(mine.objects, 1);
    assert.equal(mine.bytes, 8);
    assert.equal(mine.alarms, 1);
    assert.ok(status.alarms >= 1);
  } finally {
    target.close();
  }
});

test('path tricks are refused and nothing lands outside the practice folder', async () => {
  const { receiver, home } = await sharedReceiver();
  const { connection, practice } = await pairClient(receiver, home);
  const tricks = [
    '/v1/objects/../../receiver-key.pem',
    '/v1/objects/packs/../../../receiver-key.pem',
    '/v1/objects/%2e%2e/%2e%2e/receiver-key.pem',
    '/v1/objects/packs/ab/..%2f..%2fx',
    '/v1/objects//etc/passwd',
    '/v1/objects/packs//x',
    '/v1/objects/packs/ab/x\\..\\y',
    '/v1/objects/snapshots/.tmp-abc',
    '/v1/objects/other/abc',
    '/v1/objects/snapshots/ABC',
    '/v1/objects/snapshots/a%00b',
    `/v1/objects/snapshots/${'a'.repeat(65)}`,
  ];
  for (const path of tricks) {
    for (const method of ['GET', 'PUT']) {
      const response = await rawRequest(receiver, {
        method,
        path,
        cert: connection.cert,
        key: connection.key,
        body: method === 'PUT' ? Buffer.from('x') : undefined,
        headers:
          method === 'PUT'
            ? { 'x-content-sha256': '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881' }
            : {},
      });
      assert.ok(
        [400, 404].includes(response.status),
        `${method} ${path}: ${response.status} ${response.text}`,
      );
      assert.doesNotMatch(response.text, /PRIVATE KEY/);
    }
  }
  const listTrick = await rawRequest(receiver, {
    method: 'GET',
    path: '/v1/list?prefix=../',
    cert: connection.cert,
    key: connection.key,
  });
  assert.equal(listTrick.status, 400);
  const target = new ReceiverTarget(connection, practice);
  await assert.rejects(target.putIfAbsent('../escape', Buffer.from('x')), /object names are/);
  target.close();
  assert.deepEqual(readdirSync(home.objectsFolder(practice)), []);
  assert.ok(!existsSync(join(home.root, 'escape')) && !existsSync(join(home.root, 'x')));
});

test('limits: objects above the size cap and requests above the rate are refused', async () => {
  const { receiver, home } = await receiverAt(join(folder.path, 'small'), {
    maxObjectBytes: 1024,
    rate: { burst: 5, perSecond: 0.01 },
  });
  const { connection, practice } = await pairClient(receiver, home);
  const target = new ReceiverTarget(connection, practice);
  try {
    await assert.rejects(target.putIfAbsent('packs/aa/big', Buffer.alloc(2048)), /limited to 1024 bytes/);
    // A body that claims a small length but streams more is cut off too (no content-length: chunked).
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: receiver.port,
          method: 'PUT',
          path: '/v1/objects/packs/aa/chunked',
          cert: connection.cert,
          key: connection.key,
          rejectUnauthorized: false,
          agent: false,
          headers: { 'x-content-sha256': 'a'.repeat(64), 'transfer-encoding': 'chunked' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode!);
        },
      );
      req.on('error', reject);
      for (let i = 0; i < 4; i++) req.write(Buffer.alloc(600));
      req.end();
    });
    assert.equal(chunked, 413);
    assert.equal(await target.size('packs/aa/big'), undefined);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const response = await rawRequest(receiver, {
        method: 'HEAD',
        path: '/v1/objects/config',
        cert: connection.cert,
        key: connection.key,
      });
      statuses.push(response.status);
    }
    assert.ok(statuses.includes(429), statuses.join(','));
    // Strangers (no certificate, or guessing pairing codes) get a small budget per address.
    const strangers: number[] = [];
    for (let i = 0; i < 25; i++)
      strangers.push(
        (await rawRequest(receiver, { method: 'POST', path: '/v1/pair', body: Buffer.from('{}') })).status,
      );
    assert.deepEqual([...new Set(strangers)], [401, 429]);
  } finally {
    target.close();
  }
});

test('snapshots through the receiver verify and restore; prune refuses below the minimum and keeps what newer snapshots need', async () => {
  const { receiver, home } = await sharedReceiver();
  const store = createTempStore();
  const restoredRoot = tempFolder('chartvault-receiver-restore-');
  try {
    const { connection, practice } = await pairClient(receiver, home);
    const target = new ReceiverTarget(connection, practice);
    const keys = deriveBackupKeys(
      loadBackupKey(store.keyDir, (await import('../store/index.ts')).readSettings(store.dataDir).storeId)
        .key,
    );
    const { storeId } = (await import('../store/index.ts')).readSettings(store.dataDir);
    const settings = (await import('../store/index.ts')).readSettingsText(store.dataDir);
    const snap = () =>
      takeSnapshot({ store: store.store, storeId, settings, keys, target, lastKnown: undefined });
    await store.store.create({ resourceType: 'Patient', name: [{ family: 'Receiverton' }] } as never);
    const first = await snap();
    await store.store.create({ resourceType: 'Patient', name: [{ family: 'Secondton' }] } as never);
    const second = await snap();
    assert.equal(second.manifest.parent, first.name);
    const kit = { storeId, backupKey: loadBackupKey(store.keyDir, storeId).key };
    // A stray pack, as a run killed before its manifest leaves.
    await target.putIfAbsent(`packs/ff/${'f'.repeat(64)}`, Buffer.from('stray'));
    // Everything arrived 90 days ago by the receiver's clock; the stray pack before the snapshots.
    const objects = home.objectsFolder(practice);
    const daysAgo = (days: number) => new Date(Date.now() - days * 24 * 60 * 60 * 1000);
    for (const path of await target.list('')) utimesSync(join(objects, path), daysAgo(90), daysAgo(90));
    utimesSync(join(objects, `packs/ff/${'f'.repeat(64)}`), daysAgo(120), daysAgo(120));
    await assert.rejects(
      pruneReceiver({ dataDir: home.root, practice, keepDays: 7 }),
      /refuses to keep less than 30 days/,
    );
    const before = (await receiverStatus(home.root)).practices.find((p) => p.id === practice)!.objects;
    // Without the kit the receiver cannot see what a snapshot references: it removes nothing a snapshot may need.
    const blind = await pruneReceiver({ dataDir: home.root, practice, keepDays: 30 });
    assert.equal(blind.removed.length, 0);
    assert.match(blind.explanation, /cannot tell which of them the snapshots it keeps still need/);
    // With the kit: the two snapshots form one chain that the newest needs; only the stray pack goes.
    const seeing = await pruneReceiver({ dataDir: home.root, practice, keepDays: 30, kit });
    assert.deepEqual(seeing.removed, [`packs/ff/${'f'.repeat(64)}`]);
    const after = (await receiverStatus(home.root)).practices.find((p) => p.id === practice)!.objects;
    assert.equal(after, before - 1);
    const report = await verifyTarget(target, kit, true);
    assert.deepEqual(report.problems, []);
    assert.equal(report.snapshots.length, 2);
    const restored = await restoreSnapshot({
      target,
      kit,
      dataDir: join(restoredRoot.path, 'data'),
      keyDir: join(restoredRoot.path, 'keys'),
    });
    assert.equal(restored.resources, 2);
    target.close();
  } finally {
    await store.cleanup();
    restoredRoot.remove();
  }
});

test('receiver retention with the kit: by arrival times, everything of the last 30 days stays, older snapshots thin out to the policy, and a back-dated snapshot steers nothing', async () => {
  const { receiver, home } = await sharedReceiver();
  const temp = createTempStore();
  try {
    const { connection, practice } = await pairClient(receiver, home);
    const target = new ReceiverTarget(connection, practice);
    const { readSettings } = await import('../store/index.ts');
    const { storeId } = readSettings(temp.dataDir);
    const kit = { storeId, backupKey: loadBackupKey(temp.keyDir, storeId).key };
    const keys = deriveBackupKeys(kit.backupKey);
    const objects = home.objectsFolder(practice);
    const arrived = new Map<string, Date>(); // object path -> when the receiver got it (simulated)
    const now = Date.now();
    const day = 24 * 60 * 60 * 1000;
    let last: string | undefined;
    const snap = async (takenAt: Date, arrivesAt: Date) => {
      await temp.store.create({
        resourceType: 'Patient',
        name: [{ family: `Arrival${arrived.size}` }],
      } as never);
      const taken = await takeSnapshotAt(temp, target, takenAt, last);
      last = taken.name;
      // What this snapshot wrote arrived then, by the receiver's clock (simulated).
      const paths = [
        objectPath('snapshot', taken.name),
        ...taken.manifest.packs.map((p) => objectPath(kindOf(p), p.name)),
      ];
      for (const path of paths)
        if (!arrived.has(path)) {
          arrived.set(path, arrivesAt);
          utimesSync(join(objects, path), arrivesAt, arrivesAt);
        }
      return taken;
    };
    // Once a day for 100 days, arriving when taken.
    const real = [];
    for (let t = now - 100 * day; t < now - day / 2; t += day)
      real.push(await snap(new Date(t), new Date(t)));
    // A compromised server writes a snapshot that claims to be 400 days old; it arrives now.
    const backdated = await snap(new Date(now - 400 * day), new Date(now));
    const prune = await pruneReceiver({
      dataDir: home.root,
      practice,
      keepDays: 30,
      kit,
      now: new Date(now),
    });
    assert.ok(
      prune.removed.some((p) => p.startsWith('snapshots/')),
      'old snapshots went',
    );
    for (const path of prune.removed)
      assert.ok(arrived.get(path)! < new Date(now - 30 * day), `${path} arrived within the 30 days`);
    const { snapshots } = await loadSnapshots(target, keys);
    const names = new Set(snapshots.map((s) => s.name));
    assert.ok(
      names.has(backdated.name),
      'the back-dated snapshot arrived now: it is kept, it steers nothing',
    );
    for (const s of real)
      if (arrived.get(`snapshots/${s.name}`)! >= new Date(now - 30 * day))
        assert.ok(names.has(s.name), `${s.manifest.createdAt} arrived within 30 days`);
    // Older than 30 days: one a week (12 weeks) and one a month, not one a day.
    const older = snapshots.filter((s) => arrived.get(`snapshots/${s.name}`)! < new Date(now - 30 * day));
    assert.ok(older.length >= 9 && older.length <= 14 + 4 + 1, `${older.length} older snapshots kept`);
    const report = await verifyTarget(target, kit, true);
    assert.deepEqual(report.problems, []);
    assert.equal(report.snapshots.length, snapshots.length);
    target.close();
  } finally {
    await temp.cleanup();
  }
});

test('a replacement server pairs with an existing practice (--practice, --replace); the old credential stops working', async () => {
  const { receiver, home } = await sharedReceiver();
  const old = await pairClient(receiver, home);
  const oldTarget = new ReceiverTarget(old.connection, old.practice);
  await oldTarget.putIfAbsent('config', Buffer.from('{}'));
  const { code } = createPairingCode(home.pairingFolder, {
    label: 'restored',
    practice: old.practice,
    replace: true,
  });
  const { connection, practice } = await pairClient(receiver, home, code);
  assert.equal(practice, old.practice);
  const newTarget = new ReceiverTarget(connection, old.practice);
  assert.deepEqual(await newTarget.get('config'), Buffer.from('{}'));
  await assert.rejects(oldTarget.get('config'), /not paired with this receiver/);
  oldTarget.close();
  newTarget.close();
});

test('an unreachable receiver: retried, then one clear error', async () => {
  const { receiver, home } = await receiverAt(join(folder.path, 'gone'));
  const { connection, practice } = await pairClient(receiver, home);
  await receiver.close();
  const target = new ReceiverTarget(connection, practice);
  await assert.rejects(target.size('config'), /cannot be reached .* after 3 attempts; check that it runs/);
  target.close();
});
