/**
 * Format 3 and retention against a real store and a real directory target: the snapshot due an hour
 * (a day, ...) after the last full one is full and stands alone; a full snapshot lists a bounded number
 * of objects however many snapshots came before; pruning by the default policy keeps one snapshot per
 * hour for 48 hours, per day for 30 days and so on, and every snapshot it keeps still verifies and
 * restores. The policy itself is checked over a long synthetic timeline.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createTempStore, takeSnapshotAt, tempFolder } from '../../test/testStore.ts';
import { loadBackupKey, openStore, readSettingsText } from '../store/index.ts';
import { MAX_CHAIN } from './fullSnapshots.ts';
import { deriveBackupKeys, DirectoryTarget, restoreSnapshot, verifyTarget } from './index.ts';
import { snapshotAt } from './patientRestore.ts';
import { pruneTarget } from './prune.ts';
import { DEFAULT_RETENTION, keptSnapshots, parseRetention } from './retention.ts';
import { isFull, loadSnapshots, type ListedSnapshot, type SnapshotManifest } from './snapshotManifest.ts';

const HOUR = 3_600_000;
const MINUTE = 60_000;

function countFiles(dir: string): number {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;
}

test('full snapshots stand alone and stay short; pruning by the default policy keeps what it says, and every kept snapshot verifies and restores', async () => {
  const temp = createTempStore();
  const out = tempFolder();
  try {
    const { store, dataDir, keyDir } = temp;
    const storeId = JSON.parse(readSettingsText(dataDir)).storeId as string;
    const backupKey = loadBackupKey(keyDir, storeId).key;
    const keys = deriveBackupKeys(backupKey);
    const targetDir = join(out.path, 'target');
    const target = new DirectoryTarget(targetDir);
    const snapshot = (now: Date) => takeSnapshotAt(temp, target, now);

    const ids: string[] = [];
    for (let i = 0; i < 1500; i++) {
      const { resource } = await store.create({ resourceType: 'Patient', name: [{ family: `Tallis${i}` }] });
      ids.push(resource.id!);
    }
    // Three days and a bit of snapshots every 20 minutes, one change before each.
    const start = Date.UTC(2026, 0, 5, 8, 0, 0);
    const first = await snapshot(new Date(start));
    assert.deepEqual(first.manifest.full, { level: 'year', base: null });
    const taken = [first];
    for (let i = 1; i <= 3 * 72 + 6; i++) {
      await store.update({
        resourceType: 'Patient',
        id: ids[i % ids.length],
        name: [{ family: `Tallis${i}`, given: ['changed'] }],
      });
      taken.push(await snapshot(new Date(start + i * 20 * MINUTE)));
    }
    const fulls = taken.filter((t) => t.manifest.full);
    // An hour after each full one; the day level every 24 hours.
    assert.deepEqual(
      taken.map((t, i) => (t.manifest.full ? i : -1)).filter((i) => i >= 0),
      Array.from({ length: fulls.length }, (_, k) => k * 3),
    );
    assert.deepEqual(
      fulls.filter((t) => t.manifest.full!.level === 'day').map((t) => t.manifest.createdAt.slice(0, 13)),
      ['2026-01-06T08', '2026-01-07T08', '2026-01-08T08'],
    );
    for (const t of taken.slice(1)) assert.ok(t.manifest.sequence <= 3 && t.manifest.sequence < MAX_CHAIN);
    // A full snapshot packs only what came after its base: an hour's changes, not the store.
    const hourly = fulls.filter((t) => t.manifest.full!.level === 'hour');
    for (const t of hourly) assert.ok(t.bytesWritten < first.bytesWritten / 10, `${t.bytesWritten} bytes`);
    // And lists a bounded number of objects: the first snapshot's, then one set per day, one per hour.
    const largest = Math.max(...fulls.map((t) => t.manifest.packs.length));
    assert.ok(largest <= first.manifest.packs.length + 2 * (3 + 24) + 1, `${largest} objects listed`);

    // Restoring as of a time picks the snapshot taken last before it, full or not.
    const kit = { storeId, backupKey };
    for (const i of [0, 1, 2, 3, 4, 100, taken.length - 1]) {
      const at = new Date(Date.parse(taken[i]!.manifest.createdAt) + 10 * MINUTE);
      assert.equal((await snapshotAt(target, kit, at)).name, taken[i]!.name, `as of ${at.toISOString()}`);
    }

    const before = countFiles(targetDir);
    const end = new Date(start + (3 * 72 + 6) * 20 * MINUTE);
    const report = await pruneTarget({ target, keys, storeId, policy: DEFAULT_RETENTION, now: end });
    const { snapshots } = await loadSnapshots(target, keys);
    assert.equal(snapshots.length, report.kept);
    assert.equal(
      snapshots.length,
      taken.length - report.removed.filter((p) => p.startsWith('snapshots/')).length,
    );
    // One per hour within the last 48 hours: the full one of each hour, the newest, its chain.
    const names = new Set(snapshots.map((s) => s.name));
    const within48 = hourly
      .concat(fulls)
      .filter((t) => Date.parse(t.manifest.createdAt) >= end.getTime() - 48 * HOUR);
    for (const t of within48)
      assert.ok(names.has(t.name), `the full snapshot of ${t.manifest.createdAt} is kept`);
    assert.ok(names.has(taken.at(-1)!.name), 'the newest is kept');
    const increments = snapshots.filter((s) => !isFull(s.manifest));
    assert.ok(
      increments.length <= 2,
      `only the newest snapshot's chain of increments is left (${increments.length})`,
    );
    // Older than 48 hours: the first full one of each day (the first snapshot, on January 5, which is
    // also the base of the next monthly and yearly full snapshots; January 6 at midnight).
    const older = snapshots.filter((s) => Date.parse(s.manifest.createdAt) < end.getTime() - 48 * HOUR);
    assert.deepEqual(older.map((s) => s.manifest.createdAt.slice(0, 13)).sort(), [
      '2026-01-05T08',
      '2026-01-06T00',
    ]);
    assert.ok(countFiles(targetDir) < before / 2, `${countFiles(targetDir)} files left of ${before}`);
    assert.deepEqual((await verifyTarget(target, { storeId, backupKey }, true)).problems, []);
    // Pruning again removes nothing.
    assert.deepEqual(
      (await pruneTarget({ target, keys, storeId, policy: DEFAULT_RETENTION, now: end })).removed,
      [],
    );

    // The newest and the oldest kept snapshot restore, with the resources their manifests name.
    for (const s of [
      snapshots.at(-1)!,
      older.sort((a, b) => a.manifest.createdAt.localeCompare(b.manifest.createdAt))[0]!,
    ]) {
      const dir = join(out.path, `restored-${s.name.slice(0, 8)}`);
      const result = await restoreSnapshot({
        target,
        kit: { storeId, backupKey },
        dataDir: join(dir, 'data'),
        keyDir: join(dir, 'keys'),
        snapshot: s.name,
      });
      assert.equal(result.versions, s.manifest.throughVid);
      const restored = openStore(join(dir, 'data'), join(dir, 'keys')).store;
      try {
        assert.deepEqual(await restored.countByType(), s.manifest.resources);
      } finally {
        await restored.close();
      }
    }
  } finally {
    await temp.cleanup();
    out.remove();
  }
});

test('the policy over 400 days of snapshots every 10 minutes keeps one per period, each kept one whole', () => {
  const start = Date.UTC(2025, 0, 1);
  const snapshots: ListedSnapshot[] = [];
  let parent: string | null = null;
  for (let t = start, i = 0; t < start + 400 * 24 * HOUR; t += 10 * MINUTE, i++) {
    const full = i % 6 === 0;
    const name = i.toString(16).padStart(64, '0');
    snapshots.push({
      name,
      manifest: {
        createdAt: new Date(t).toISOString(),
        parent: full ? null : parent,
        throughVid: i,
        sequence: full ? 1 : (i % 6) + 1,
        audit: { throughSeq: i },
      } as unknown as SnapshotManifest,
    });
    parent = name;
  }
  const now = new Date(start + 400 * 24 * HOUR);
  const timeOf = (s: ListedSnapshot) => new Date(s.manifest.createdAt);
  const kept = keptSnapshots({ snapshots, policy: DEFAULT_RETENTION, now, timeOf });
  const keptList = snapshots.filter((s) => kept.has(s.name));
  // 48 hours + 30 days + 12 weeks + 12 months + 2 years overlap; the newest brings its chain (up to 6).
  assert.ok(keptList.length <= 48 + 30 + 12 + 13 + 2 + 6, `${keptList.length} kept`);
  const periods = (slice: number, since: number) =>
    new Set(
      keptList.filter((s) => timeOf(s).getTime() >= since).map((s) => s.manifest.createdAt.slice(0, slice)),
    );
  // Every hour of the last 48 and every day of the last 30 has a kept snapshot, and it is a full one.
  assert.equal(periods(13, now.getTime() - 48 * HOUR).size, 48);
  assert.equal(periods(10, now.getTime() - 30 * 24 * HOUR).size, 30);
  assert.equal(periods(7, Date.UTC(2025, 2, 1)).size, 12);
  // Each week between 30 days and 12 weeks ago keeps its first full snapshot: one added later in the
  // week (by a compromised server, say) cannot take its place.
  const week = (t: Date) => Math.floor((t.getTime() - 4 * 24 * HOUR) / (7 * 24 * HOUR));
  for (
    let w = week(new Date(now.getTime() - 12 * 7 * 24 * HOUR)) + 1;
    w < week(new Date(now.getTime() - 30 * 24 * HOUR));
    w++
  ) {
    const first = snapshots.find((s) => week(timeOf(s)) === w && s.manifest.parent === null)!;
    assert.ok(kept.has(first.name), `the first full snapshot of week ${w} is kept`);
    const firstOfMonth = (s: ListedSnapshot) =>
      snapshots.find((o) => o.manifest.createdAt.slice(0, 7) === s.manifest.createdAt.slice(0, 7))!.name ===
      s.name;
    assert.deepEqual(
      keptList
        .filter((s) => week(timeOf(s)) === w && (s.name === first.name || !firstOfMonth(s)))
        .map((s) => s.name),
      [first.name],
      `week ${w} keeps its first snapshot only (and a month's first, if the month starts in it)`,
    );
  }
  for (const s of keptList.filter((s) => s.name !== snapshots.at(-1)!.name && s.manifest.parent !== null))
    assert.ok(kept.has(s.manifest.parent!), 'a kept increment keeps its parent');
  // The receiver's minimum retention: everything of the last 30 days stays.
  const withMinimum = keptSnapshots({
    snapshots,
    policy: DEFAULT_RETENTION,
    now,
    timeOf,
    keepAllSince: new Date(now.getTime() - 30 * 24 * HOUR),
  });
  assert.ok(withMinimum.size >= 30 * 24 * 6);
  // A smaller policy keeps less.
  const small = keptSnapshots({
    snapshots,
    policy: parseRetention('hourly=6,daily=2,weekly=0,monthly=0,yearly=0'),
    now,
    timeOf,
  });
  assert.ok(small.size <= 6 + 2 + 6, `${small.size} kept`);
  assert.throws(() => parseRetention('hourly=forever'), /not a retention rule; write e\.g\. hourly=48/);
  assert.throws(() => parseRetention('fortnightly=2'), /not a retention rule/);
});
