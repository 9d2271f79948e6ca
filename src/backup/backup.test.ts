/**
 * Backups against real files: snapshots of a real store to a real directory, restored into a new
 * store that must hold exactly the same versions; increments proportional to the change; bad kits,
 * damaged objects and newer formats refused without leaving a partial store.
 */
import assert from 'node:assert/strict';
import { INDEX_LOOKUP_INDEXES } from '../store/sqlite/schema.ts';
import { openRawDatabase } from '../../test/rawDatabase.ts';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createTempStore, tempFolder, type TempStore } from '../../test/testStore.ts';
import type { Resource } from '../fhir/types.ts';
import {
  loadBackupKey,
  openStore,
  readSettings,
  readSettingsText,
  type SqliteStore,
} from '../store/index.ts';
import {
  deriveBackupKeys,
  DirectoryTarget,
  parseKit,
  renderKit,
  restoreSnapshot,
  takeSnapshot,
  verifyTarget,
  type RecoveryKit,
} from './index.ts';

const NAME = 'Quillfeatherstonehaugh';

class CountingTarget extends DirectoryTarget {
  calls = { get: 0, list: 0, put: 0 };
  override get(path: string) {
    this.calls.get++;
    return super.get(path);
  }
  override list(folder: string) {
    this.calls.list++;
    return super.list(folder);
  }
  override putIfAbsent(path: string, bytes: Buffer) {
    this.calls.put++;
    return super.putIfAbsent(path, bytes);
  }
}

function kitOf(temp: TempStore): RecoveryKit {
  const storeId = JSON.parse(readSettingsText(temp.dataDir)).storeId as string;
  return { storeId, backupKey: loadBackupKey(temp.keyDir, storeId).key };
}

function snapshot(temp: TempStore, targetDir: string) {
  const kit = kitOf(temp);
  return takeSnapshot({
    store: temp.store,
    storeId: kit.storeId,
    settings: readSettingsText(temp.dataDir),
    keys: deriveBackupKeys(kit.backupKey),
    target: new DirectoryTarget(targetDir),
  });
}

/** A deterministic random mix of creates, updates, deletes and re-creates. */
async function randomHistory(store: SqliteStore, steps: number, seed = 7): Promise<void> {
  let state = seed;
  const random = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  const ids: { type: string; id: string }[] = [];
  for (let i = 0; i < steps; i++) {
    const r = random();
    if (r < 0.45 || ids.length < 5) {
      const resource: Resource =
        random() < 0.5
          ? {
              resourceType: 'Patient',
              name: [{ family: `${NAME}${i % 7}`, given: ['Ann'] }],
              birthDate: '1970-01-02',
            }
          : {
              resourceType: 'Observation',
              status: 'final',
              code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
              valueQuantity: {
                value: 60 + i,
                unit: '/min',
                system: 'http://unitsofmeasure.org',
                code: '/min',
              },
            };
      const { resource: created } = await store.create(resource);
      ids.push({ type: created.resourceType, id: created.id! });
    } else {
      const pick = ids[Math.floor(random() * ids.length)]!;
      if (r < 0.8) {
        const base =
          pick.type === 'Patient'
            ? {
                resourceType: 'Patient',
                id: pick.id,
                name: [{ family: `${NAME}${i % 5}` }],
                gender: 'female',
              }
            : { resourceType: 'Observation', id: pick.id, status: 'amended', code: { text: `step ${i}` } };
        await store.update(base as Resource);
      } else {
        await store.delete(pick.type, pick.id);
      }
    }
  }
}

async function allVersions(store: SqliteStore) {
  return (await store.history({ count: 1_000_000, offset: 0 })).versions;
}

async function searchNames(store: SqliteStore) {
  const result = await store.search({
    types: ['Patient'],
    criteria: [{ kind: 'string', code: 'family', values: [NAME] }],
    sort: [],
    count: 1000,
    offset: 0,
    total: 'accurate',
  });
  return { total: result.total, ids: result.resources.map((r) => r.id).sort() };
}

function grepTarget(dir: string, text: string): string {
  try {
    return execFileSync('grep', ['-r', '-l', '-a', text, dir], { encoding: 'utf8' });
  } catch (error) {
    assert.equal((error as { status: number }).status, 1);
    return '';
  }
}

test('round trip: every version, tombstone, lastUpdated, search result and the settings come back', async () => {
  const temp = createTempStore();
  const out = tempFolder();
  try {
    await randomHistory(temp.store, 400);
    const target = join(out.path, 'target');
    const first = await snapshot(temp, target);
    assert.equal(first.unchanged, false);
    await randomHistory(temp.store, 60, 99);
    const second = await snapshot(temp, target);
    assert.equal(second.manifest.parent, first.name);
    assert.equal(grepTarget(target, NAME), '', 'no patient name anywhere in the target');

    const kit = kitOf(temp);
    const restored = join(out.path, 'restored');
    const result = await restoreSnapshot({
      target: new DirectoryTarget(target),
      kit,
      dataDir: restored,
      keyDir: join(out.path, 'keys'),
    });
    assert.equal(result.snapshot.name, second.name);
    const copy = openStore(restored, join(out.path, 'keys')).store;
    try {
      assert.deepEqual(await allVersions(copy), await allVersions(temp.store));
      assert.deepEqual(await copy.countByType(), await temp.store.countByType());
      assert.deepEqual(await searchNames(copy), await searchNames(temp.store));
      assert.ok((await searchNames(copy)).total! > 0);
      assert.equal(readSettingsText(restored), readSettingsText(temp.dataDir));
      // The restored store goes on writing after the restored versions.
      const { resource } = await copy.create({ resourceType: 'Patient', active: true });
      assert.equal(resource.meta?.versionId, '1');
    } finally {
      await copy.close();
    }
    // The lookup indexes the restore dropped for its bulk load are all there again, and searches use them.
    const raw = openRawDatabase(restored, join(out.path, 'keys'), readSettings(restored).storeId);
    try {
      const indexes = (
        raw.prepare("SELECT name FROM sqlite_master WHERE type = 'index'").all() as { name: string }[]
      ).map((row) => row.name);
      for (const { name } of INDEX_LOOKUP_INDEXES)
        assert.ok(indexes.includes(name), `${name} after the restore`);
      const plan = raw
        .prepare("EXPLAIN QUERY PLAN SELECT rid FROM idx_string WHERE pid = 1 AND norm = 'x'")
        .all() as { detail: string }[];
      assert.match(plan.map((row) => row.detail).join(' '), /idx_string_lookup/);
    } finally {
      raw.close();
    }

    // An older snapshot restores to exactly what it held.
    const older = join(out.path, 'older');
    const r1 = await restoreSnapshot({
      target: new DirectoryTarget(target),
      kit,
      dataDir: older,
      keyDir: join(out.path, 'keys2'),
      snapshot: first.name.slice(0, 10),
    });
    assert.equal(r1.versions, first.manifest.throughVid);
    // That older copy has another future: it may not continue the target's chain.
    const olderKeys = join(out.path, 'keys2');
    const olderStore = openStore(older, olderKeys).store;
    try {
      for (let i = 0; i < 80; i++) await olderStore.create({ resourceType: 'Patient', active: i % 2 === 0 });
      await assert.rejects(
        takeSnapshot({
          store: olderStore,
          storeId: kit.storeId,
          settings: readSettingsText(older),
          keys: deriveBackupKeys(kit.backupKey),
          target: new DirectoryTarget(target),
        }),
        /another history of this store/,
      );
    } finally {
      await olderStore.close();
    }
  } finally {
    await temp.cleanup();
    out.remove();
  }
});

test('snapshots are increments: an unchanged store writes nothing, a few changes write a few small objects', async () => {
  const temp = createTempStore();
  const out = tempFolder();
  try {
    await randomHistory(temp.store, 3000);
    const target = join(out.path, 'target');
    const full = await snapshot(temp, target);
    const unchanged = await snapshot(temp, target);
    assert.equal(unchanged.unchanged, true);
    assert.equal(unchanged.objectsWritten, 0);
    assert.equal(unchanged.bytesWritten, 0);
    for (let i = 0; i < 5; i++)
      await temp.store.create({ resourceType: 'Patient', name: [{ family: `Small${i}` }] });
    const small = await snapshot(temp, target);
    assert.equal(small.versions, 5);
    assert.equal(small.auditEntries, 5, 'each write has its audit entry');
    assert.equal(small.objectsWritten, 3, 'a pack of versions, a pack of audit entries and a manifest');
    assert.ok(small.bytesWritten < 6144, `${small.bytesWritten} bytes for 5 versions and their entries`);
    assert.ok(small.bytesWritten * 50 < full.bytesWritten, `${small.bytesWritten} vs ${full.bytesWritten}`);
    // With the name of the last snapshot (the CLI keeps it in the data directory), an unchanged
    // store costs two small reads: the config and that manifest; no listing.
    const counting = new CountingTarget(target);
    const kit = kitOf(temp);
    const quiet = await takeSnapshot({
      store: temp.store,
      storeId: kit.storeId,
      settings: readSettingsText(temp.dataDir),
      keys: deriveBackupKeys(kit.backupKey),
      target: counting,
      lastKnown: small.name,
    });
    assert.equal(quiet.unchanged, true);
    assert.deepEqual(counting.calls, { get: 2, list: 0, put: 0 });
    const report = await verifyTarget(new DirectoryTarget(target), kitOf(temp), true);
    assert.deepEqual(report.problems, []);
    assert.equal(report.snapshots.length, 2);
  } finally {
    await temp.cleanup();
    out.remove();
  }
});

test('the kit: printable HTML with the key as text, read back; a mistyped key is caught', () => {
  const kit: RecoveryKit = {
    storeId: '0b8f3c52-8d1e-4c1a-9e59-6f1f8a9b7c11',
    backupKey: Buffer.alloc(32, 7),
  };
  const html = renderKit(kit, { createdAt: '2026-11-28T00:00:00Z', targets: ['/mnt/backup'] });
  assert.match(html, /0707 0707/);
  assert.doesNotMatch(html, /<script/);
  assert.deepEqual(parseKit(html, 'kit.html'), kit);
  const typed = html.replace('0707 0707', '0707 0708');
  assert.throws(() => parseKit(typed, 'kit.txt'), /mistyped/);
  assert.throws(() => parseKit('hello', 'x.txt'), /not a ChartVault recovery kit/);
});

test('wrong kit, another practice, damaged objects and a newer format: clear errors, never a partial restore', async () => {
  const temp = createTempStore();
  const other = createTempStore();
  const out = tempFolder();
  try {
    await randomHistory(temp.store, 100);
    const target = join(out.path, 'target');
    await snapshot(temp, target);
    const kit = kitOf(temp);
    const dir = new DirectoryTarget(target);
    const restoreWith = (k: RecoveryKit, name: string) =>
      restoreSnapshot({
        target: new DirectoryTarget(target),
        kit: k,
        dataDir: join(out.path, name),
        keyDir: join(out.path, `${name}-keys`),
      });
    const assertNothingLeft = (name: string) => {
      assert.equal(existsSync(join(out.path, name)), false, `${name} left behind`);
      assert.equal(
        existsSync(join(out.path, `${name}-keys`)) && readdirSync(join(out.path, `${name}-keys`)).length > 0,
        false,
      );
    };

    await assert.rejects(restoreWith(kitOf(other), 'a'), /another practice/);
    assertNothingLeft('a');
    await assert.rejects(
      restoreWith({ ...kit, backupKey: Buffer.alloc(32, 1) }, 'b'),
      /backup key does not open/,
    );
    assertNothingLeft('b');
    // Backing another store up into this target is refused too.
    await assert.rejects(snapshot(other, target), /another practice/);

    // One flipped byte in a pack: verify names it; restore refuses and leaves nothing.
    const packs = (await dir.list('packs/')).sort();
    const victim = join(target, packs[0]!);
    const bytes = readFileSync(victim);
    bytes[bytes.length >> 1] ^= 1;
    chmodSync(victim, 0o644);
    writeFileSync(victim, bytes);
    const report = await verifyTarget(dir, kit, true);
    assert.equal(report.problems.length, 1);
    assert.match(report.problems[0]!, new RegExp(`${packs[0]}: does not authenticate`));
    assert.equal(
      (await verifyTarget(dir, kit, false)).problems.length,
      0,
      'same size: only --read-data sees it',
    );
    await assert.rejects(restoreWith(kit, 'c'), /does not authenticate/);
    assertNothingLeft('c');

    // Truncated: the quick verify already sees the size.
    writeFileSync(victim, bytes.subarray(0, 100));
    assert.match((await verifyTarget(dir, kit, false)).problems[0]!, /truncated or altered/);
    await assert.rejects(restoreWith(kit, 'd'), /too short|does not authenticate/);
    assertNothingLeft('d');

    // A newer format version in the config.
    const configFile = join(target, 'config');
    const config = JSON.parse(readFileSync(configFile, 'utf8'));
    chmodSync(configFile, 0o644);
    writeFileSync(configFile, JSON.stringify({ ...config, version: 4 }));
    await assert.rejects(
      restoreWith(kit, 'e'),
      /format version 4; this ChartVault reads versions up to 3: upgrade/,
    );
    assertNothingLeft('e');
  } finally {
    await temp.cleanup();
    await other.cleanup();
    out.remove();
  }
});
