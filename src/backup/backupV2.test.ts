/**
 * Format 2 against real stores and files: the audit chain (entries, checkpoints, the keys that signed
 * them) and the durable security records travel in snapshots over several increments, and a restore
 * gives them back exactly, so that `audit verify` passes on the restored store with the history of
 * before; tampered audit packs and records objects are named by verify and refused by restore; a
 * target written in format 1 still restores and its chain goes on in format 2.
 */
import assert from 'node:assert/strict';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { createTempStore, tempFolder, type TempStore } from '../../test/testStore.ts';
import { addAccount, operatorActor, registerClient } from '../access/index.ts';
import { AuditTrail, verifyAuditChain } from '../audit/index.ts';
import { knownAuditPublicKeys, loadAuditSigningKey } from '../audit/signingKey.ts';
import {
  loadBackupKey,
  openStore,
  readSettingsText,
  type SqliteStore,
  type RawRecord,
} from '../store/index.ts';
import { parseAuditPack } from './auditPack.ts';
import {
  deriveBackupKeys,
  DirectoryTarget,
  parseKit,
  restoreSnapshot,
  takeSnapshot,
  verifyTarget,
  type RecoveryKit,
} from './index.ts';
import { sha256 } from './packWriter.ts';
import { DURABLE_RECORD_KINDS } from './recordsObject.ts';
import { objectPath, openObject, sealObject } from './repositoryFormat.ts';
import { auditPacks, loadSnapshots, recordsEntry, type SnapshotManifest } from './snapshotManifest.ts';

const FIXTURE = new URL('../../test/fixtures/backup-v1/', import.meta.url).pathname;

function kitOf(dataDir: string, keyDir: string): RecoveryKit {
  const storeId = JSON.parse(readSettingsText(dataDir)).storeId as string;
  return { storeId, backupKey: loadBackupKey(keyDir, storeId).key };
}

function snapshotOf(store: SqliteStore, dataDir: string, keyDir: string, targetDir: string) {
  const kit = kitOf(dataDir, keyDir);
  return takeSnapshot({
    store,
    storeId: kit.storeId,
    settings: readSettingsText(dataDir),
    keys: deriveBackupKeys(kit.backupKey),
    target: new DirectoryTarget(targetDir),
    auditKeys: knownAuditPublicKeys(keyDir, dataDir, kit.storeId),
  });
}

const openTrail = (store: SqliteStore, dataDir: string, keyDir: string) =>
  AuditTrail.open({
    store,
    dataDir,
    keyDir,
    storeId: kitOf(dataDir, keyDir).storeId,
    checkpointEveryEntries: 7,
    checkpointEverySeconds: 3600,
  });

/** Reads as the FHIR router records them: audit entries only, no change to any resource. */
async function reads(store: SqliteStore, patient: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++)
    await store.appendAudit({
      agent: { type: 'user', id: 'dr-reader' },
      action: 'read',
      resource: { type: 'Patient', id: patient },
      patients: [patient],
      outcome: 'success',
      status: 200,
    });
}

async function patient(store: SqliteStore, family: string): Promise<string> {
  const { resource } = await store.create({ resourceType: 'Patient', name: [{ family }] });
  return resource.id!;
}

/** The chain as stored: [seq, time, entry, hash hex]. */
function chainRows(store: SqliteStore): [number, number, string, string][] {
  return [...store.readAuditChain()].map(([seq, time, entry, hash]) => [
    seq,
    time,
    entry,
    hash.toString('hex'),
  ]);
}

function durableRecords(store: SqliteStore): RawRecord[] {
  return store.backupPoint({ checkpointsAfter: 0, recordKinds: DURABLE_RECORD_KINDS }).records;
}

async function verifyRestored(dataDir: string, keyDir: string, store: SqliteStore) {
  const storeId = kitOf(dataDir, keyDir).storeId;
  return verifyAuditChain({
    store,
    dataDir,
    storeId,
    publicKey: loadAuditSigningKey(keyDir, storeId)?.publicKey,
  });
}

/** A store with accounts, a client, ephemeral records, writes and reads over four snapshots. */
async function practiceWithHistory(temp: TempStore, target: string) {
  const trail = await openTrail(temp.store, temp.dataDir, temp.keyDir);
  const actor = operatorActor();
  const first = await patient(temp.store, 'Ashworthington');
  await addAccount(
    temp.store,
    { userName: 'dr.one', role: 'physician', password: 'a long passphrase 1' },
    actor,
  );
  await temp.store.records.put(
    'login-throttle',
    'dr.one',
    { failures: 2 },
    { expiresAt: Date.now() + 3600_000 },
  );
  await reads(temp.store, first, 10);
  const s1 = await snapshotOf(temp.store, temp.dataDir, temp.keyDir, target);

  const second = await patient(temp.store, 'Bellweatherby');
  const { clientSecret } = await registerClient(temp.store, { name: 'lab', scopes: 'system/*.rs' }, actor);
  await temp.store.records.insertNew(
    'assertion-jti',
    'jti-1',
    { used: true },
    { expiresAt: Date.now() + 3600_000 },
  );
  await reads(temp.store, second, 12);
  const s2 = await snapshotOf(temp.store, temp.dataDir, temp.keyDir, target);

  await reads(temp.store, first, 100);
  const s3 = await snapshotOf(temp.store, temp.dataDir, temp.keyDir, target);
  // A checkpoint of the head signed after s3 (as a closing process does) goes into the next one.
  await trail.close();
  await reads(temp.store, second, 3);
  const s4 = await snapshotOf(temp.store, temp.dataDir, temp.keyDir, target);
  return { s1, s2, s3, s4, clientSecret: clientSecret!, patients: [first, second] };
}

test('audit chain and accounts over several increments: restored exactly, audit verify passes, ephemeral records stay behind', async () => {
  const temp = createTempStore();
  const out = tempFolder();
  try {
    const target = join(out.path, 'target');
    const { s1, s2, s3, s4, patients } = await practiceWithHistory(temp, target);
    assert.equal(s1.manifest.version, 3);
    assert.ok(s1.auditEntries > 10 && s1.manifest.records?.count === 1);
    assert.ok(recordsEntry(s2.manifest), 'a client was added: a new records object');
    assert.equal(s2.manifest.records?.byKind.client, 1);
    // Reads alone: one audit pack and the manifest, no versions, records unchanged (not written again).
    assert.equal(s3.versions, 0);
    assert.equal(s3.auditEntries, 100);
    assert.equal(s3.objectsWritten, 2);
    assert.deepEqual(
      s3.manifest.packs.map((p) => p.kind),
      ['audit'],
    );
    assert.ok(
      s4.manifest.audit.checkpoints.some((line) => JSON.parse(line).seq === s3.manifest.audit.throughSeq),
      'the late checkpoint of the head travels with the next snapshot',
    );
    const kit = kitOf(temp.dataDir, temp.keyDir);
    const report = await verifyTarget(new DirectoryTarget(target), kit, true);
    assert.deepEqual(report.problems, []);
    assert.equal(report.uncheckedCheckpoints, 0);
    assert.deepEqual(
      report.snapshots.map((s) => s.auditEntries),
      [s1, s2, s3, s4].map((s) => s.manifest.audit.throughSeq),
    );

    const before = chainRows(temp.store);
    const checkpointsBefore = await temp.store.auditCheckpoints();
    const recordsBefore = durableRecords(temp.store);
    const readsOfFirst = (await temp.store.searchAudit({ patient: patients[0], limit: 1000 })).length;

    const restored = join(out.path, 'restored');
    const restoredKeys = join(out.path, 'restored-keys');
    const result = await restoreSnapshot({
      target: new DirectoryTarget(target),
      kit,
      dataDir: restored,
      keyDir: restoredKeys,
    });
    assert.equal(result.snapshot.name, s4.name);
    assert.equal(result.auditEntries, before.length);
    assert.equal(result.records, 2);
    assert.equal(result.earlierAuditKeys.length, 1);
    const copy = openStore(restored, restoredKeys).store;
    try {
      assert.deepEqual(chainRows(copy), before, 'same seq, bytes, time and hash for every entry');
      assert.deepEqual(await copy.auditCheckpoints(), checkpointsBefore);
      assert.deepEqual(durableRecords(copy), recordsBefore, 'accounts and clients as they were');
      assert.equal(await copy.records.get('login-throttle', 'dr.one'), undefined);
      assert.equal(await copy.records.get('assertion-jti', 'jti-1'), undefined);
      assert.equal((await copy.searchAudit({ patient: patients[0], limit: 1000 })).length, readsOfFirst);
      // Verified with the restored store's own (new) key, the old checkpoints by the earlier key.
      const verified = await verifyRestored(restored, restoredKeys, copy);
      assert.equal(verified.ok, true, verified.problem);
      assert.equal(verified.entries, before.length);
      assert.equal(verified.lastCheckpoint?.seq, checkpointsBefore.at(-1)!.seq);

      // The restored store goes on: its restore is the next entry, signed by its new key.
      const trail = await openTrail(copy, restored, restoredKeys);
      await copy.appendAudit({
        agent: { type: 'os-user', id: 'op@host' },
        action: 'restore',
        outcome: 'success',
      });
      await trail.close();
      const after = await verifyRestored(restored, restoredKeys, copy);
      assert.equal(after.ok, true, after.problem);
      assert.equal(after.entries, before.length + 1);
      const newKey = loadAuditSigningKey(restoredKeys, kit.storeId)!.keyId;
      assert.equal(after.lastCheckpoint?.key, newKey);
      assert.notEqual(newKey, JSON.parse(checkpointsBefore[0]!.line).key);

      // An earlier key vouches only for what it signed before the restore: a line it "signs" later is refused.
      const earlierKeys = JSON.parse(readFileSync(join(restored, 'audit-earlier-keys.json'), 'utf8'));
      assert.equal(earlierKeys.keys[0].until, checkpointsBefore.at(-1)!.seq);

      // The restored store's backups continue the chain; a second restore keeps both generations of keys.
      const s5 = await snapshotOf(copy, restored, restoredKeys, target);
      assert.equal(s5.manifest.parent, s4.name);
      assert.ok(s5.auditEntries >= 1);
      const again = join(out.path, 'again');
      const againKeys = join(out.path, 'again-keys');
      const second = await restoreSnapshot({
        target: new DirectoryTarget(target),
        kit,
        dataDir: again,
        keyDir: againKeys,
      });
      assert.equal(second.earlierAuditKeys.length, 2);
      const third = openStore(again, againKeys).store;
      try {
        assert.deepEqual(chainRows(third), chainRows(copy));
        const verifiedAgain = await verifyRestored(again, againKeys, third);
        assert.equal(verifiedAgain.ok, true, verifiedAgain.problem);
      } finally {
        await third.close();
      }
    } finally {
      await copy.close();
    }
  } finally {
    await temp.cleanup();
    out.remove();
  }
});

test('an earlier key cannot vouch for checkpoints after the restore', async () => {
  const temp = createTempStore();
  const out = tempFolder();
  try {
    const target = join(out.path, 'target');
    await practiceWithHistory(temp, target);
    const kit = kitOf(temp.dataDir, temp.keyDir);
    const restored = join(out.path, 'r');
    const keys = join(out.path, 'rk');
    await restoreSnapshot({ target: new DirectoryTarget(target), kit, dataDir: restored, keyDir: keys });
    const copy = openStore(restored, keys).store;
    try {
      await reads(copy, 'x', 2);
      // Someone holding the old key signs a checkpoint of the new history with it.
      const oldKey = loadAuditSigningKey(temp.keyDir, kit.storeId)!;
      const { writeCheckpoint } = await import('../audit/checkpoints.ts');
      await writeCheckpoint(copy, { dataDir: restored, storeId: kit.storeId, key: oldKey });
      const verified = await verifyRestored(restored, keys, copy);
      assert.equal(verified.ok, false);
      assert.match(verified.problem!, /key of before the restore .* vouches only up to/);
    } finally {
      await copy.close();
    }
  } finally {
    await temp.cleanup();
    out.remove();
  }
});

/** Replaces an object's bytes in a directory target (files are read-only there). */
function overwrite(target: string, path: string, bytes: Buffer): void {
  const file = join(target, path);
  if (existsSync(file)) chmodSync(file, 0o644);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, bytes);
}

test('a tampered audit pack or records object: verify names it, restore refuses and leaves nothing', async () => {
  const temp = createTempStore();
  const out = tempFolder();
  try {
    const target = join(out.path, 'target');
    const { s2 } = await practiceWithHistory(temp, target);
    const kit = kitOf(temp.dataDir, temp.keyDir);
    const keys = deriveBackupKeys(kit.backupKey);
    const dir = new DirectoryTarget(target);
    const restoreInto = (name: string, snapshot?: string) =>
      restoreSnapshot({
        target: dir,
        kit,
        dataDir: join(out.path, name),
        keyDir: join(out.path, `${name}-k`),
        snapshot,
      });

    // 1. A flipped byte in an audit pack and in the records object.
    for (const [kind, entry] of [
      ['audit', auditPacks(s2.manifest)[0]!],
      ['records', recordsEntry(s2.manifest)!],
    ] as const) {
      const path = objectPath(kind, entry.name);
      const good = readFileSync(join(target, path));
      const bad = Buffer.from(good);
      bad[bad.length >> 1]! ^= 1;
      overwrite(target, path, bad);
      const report = await verifyTarget(dir, kit, true);
      assert.equal(report.problems.length, 1, report.problems.join('\n'));
      assert.match(report.problems[0]!, new RegExp(`${entry.name}: does not authenticate`));
      assert.ok(report.snapshots.some((s) => !s.ok));
      await assert.rejects(restoreInto(`bad-${kind}`), /does not authenticate/);
      assert.equal(existsSync(join(out.path, `bad-${kind}`)), false, 'nothing left behind');
      overwrite(target, path, good);
    }
    assert.deepEqual((await verifyTarget(dir, kit, true)).problems, []);

    // 2. Someone holding the backup key rewrites an audit entry and seals it again, manifest and all:
    // the chain's hashes no longer lead to the one the manifest and the next snapshots carry.
    const pack = auditPacks(s2.manifest)[0]!;
    const payload = openObject(
      keys,
      'audit',
      'x',
      pack.name,
      readFileSync(join(target, objectPath('audit', pack.name))),
    );
    const { header, entries } = parseAuditPack(payload, 'x');
    const forged = entries.map((e) => e.entry.replace('dr-reader', 'nobody-xx'));
    const forgedPayload = Buffer.from([JSON.stringify(header), ...forged].join('\n') + '\n');
    const sealed = sealObject(keys, 'audit', forgedPayload);
    overwrite(target, objectPath('audit', sealed.name), sealed.bytes);
    const manifest: SnapshotManifest = {
      ...s2.manifest,
      createdAt: new Date().toISOString(),
      packs: s2.manifest.packs.map((p) =>
        p.name === pack.name
          ? { ...pack, name: sealed.name, size: sealed.bytes.length, sha256: sha256(forgedPayload) }
          : p,
      ),
    };
    const forgedManifest = sealObject(keys, 'snapshot', Buffer.from(JSON.stringify(manifest)));
    overwrite(target, objectPath('snapshot', forgedManifest.name), forgedManifest.bytes);
    const report = await verifyTarget(dir, kit, true);
    assert.ok(
      report.problems.some((p) => p.includes(sealed.name) && /do not chain/.test(p)),
      report.problems.join('\n'),
    );
    await assert.rejects(restoreInto('forged', forgedManifest.name), /audit entries/);
    assert.equal(existsSync(join(out.path, 'forged')), false);

    // 3. A snapshot of a newer format is refused with "upgrade".
    const newer = sealObject(keys, 'snapshot', Buffer.from(JSON.stringify({ ...s2.manifest, version: 4 })));
    overwrite(target, objectPath('snapshot', newer.name), newer.bytes);
    await assert.rejects(
      loadSnapshots(dir, keys),
      /newer format \(version 4; this ChartVault reads up to 3\): upgrade/,
    );
  } finally {
    await temp.cleanup();
    out.remove();
  }
});

test('a target written in format 1 still restores, and the next snapshot is a full one of format 3 that stands alone', async () => {
  const out = tempFolder();
  try {
    const expected = JSON.parse(readFileSync(join(FIXTURE, 'expected.json'), 'utf8'));
    const kit = parseKit(readFileSync(join(FIXTURE, 'kit.txt'), 'utf8'), 'kit.txt');
    const target = join(out.path, 'target');
    cpSync(join(FIXTURE, 'target'), target, { recursive: true });
    const dir = new DirectoryTarget(target);
    const { snapshots } = await loadSnapshots(dir, deriveBackupKeys(kit.backupKey));
    assert.deepEqual(
      snapshots.map((s) => s.manifest.version),
      [1, 1],
    );
    assert.deepEqual((await verifyTarget(dir, kit, true)).problems, []);

    const data = join(out.path, 'data');
    const keys = join(out.path, 'keys');
    const result = await restoreSnapshot({ target: dir, kit, dataDir: data, keyDir: keys });
    assert.equal(result.snapshot.name, expected.snapshots[1]);
    assert.equal(result.versions, expected.versions);
    assert.equal(result.auditEntries, 0, 'format 1 held no audit chain');
    assert.equal(result.records, 0);
    const { store } = openStore(data, keys);
    try {
      assert.deepEqual(await store.countByType(), expected.resources);
      assert.equal((await store.read('Patient', expected.patient)).birthDate, '1980-01-02');
      // The restored store's audit chain starts after the restore; its next snapshot packs the whole
      // history again as a full snapshot of format 3 (a format-1 snapshot names no full snapshots).
      await addAccount(
        store,
        { userName: 'dr.two', role: 'physician', password: 'a long passphrase 2' },
        operatorActor(),
      );
      await patient(store, 'Carrowmoreley');
      const next = await snapshotOf(store, data, keys, target);
      assert.equal(next.manifest.version, 3);
      assert.equal(next.manifest.parent, null);
      assert.deepEqual(next.manifest.full, { level: 'year', base: null });
      assert.equal(next.manifest.sequence, 1);
      assert.equal(next.manifest.afterVid, 0);
      assert.equal(next.manifest.audit.afterSeq, 0);
      assert.deepEqual((await verifyTarget(dir, kit, true)).problems, []);
      const again = await restoreSnapshot({
        target: dir,
        kit,
        dataDir: join(out.path, 'd2'),
        keyDir: join(out.path, 'k2'),
      });
      assert.equal(again.records, 1);
      assert.equal(again.auditEntries, next.manifest.audit.throughSeq);
      assert.equal(again.versions, expected.versions + 1);
    } finally {
      await store.close();
    }
  } finally {
    out.remove();
  }
});
