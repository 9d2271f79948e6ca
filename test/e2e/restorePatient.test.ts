/**
 * One chart brought back from a backup into the live store (`restore --patient`), and restores of the
 * snapshot taken at or before a time (`--at`): what was changed or deleted since comes back as new
 * versions, what was added since is kept, other patients are untouched, and a dry run writes nothing.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Resource } from '../../src/fhir/types.ts';
import { openStore } from '../../src/store/index.ts';
import { chartvault } from '../cli.ts';
import { restoreInto } from '../backupHelpers.ts';
import { tempFolder } from '../testStore.ts';

const folder = tempFolder('chartvault-restore-patient-');
const data = join(folder.path, 'data');
const keys = join(folder.path, 'keys');
const target = join(folder.path, 'target');
const kit = join(folder.path, 'kit.html');
let firstSnapshotTime: string;
let patient: string;
let other: string;
let observation: string;

async function withStore<T>(work: (store: ReturnType<typeof openStore>['store']) => Promise<T>): Promise<T> {
  const { store } = openStore(data, keys);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

const versionsOf = (store: ReturnType<typeof openStore>['store'], type: string, id: string) =>
  store.history({ resourceType: type, id, count: 100, offset: 0 }).then((h) => h.total);

before(async () => {
  const demo = chartvault('demo', '--data', data, '--key-dir', keys, '--no-serve', '--patients', '6');
  assert.equal(demo.status, 0, demo.stderr);
  assert.equal(chartvault('kit', '--data', data, '--key-dir', keys, '--out', kit).status, 0);
  assert.equal(chartvault('backup', 'run', '--data', data, '--key-dir', keys, '--to', target).status, 0);
  firstSnapshotTime = new Date().toISOString();
  await new Promise((resolve) => setTimeout(resolve, 1100));
  await withStore(async (store) => {
    const { resources: patients } = await store.search({
      types: ['Patient'],
      criteria: [],
      sort: [],
      count: 2,
      offset: 0,
      total: 'none',
    });
    [patient, other] = patients.map((p) => p.id!) as [string, string];
    const { resources: observations } = await store.search({
      types: ['Observation'],
      criteria: [{ kind: 'reference', code: 'subject', values: [`Patient/${patient}`] }],
      sort: [],
      count: 1,
      offset: 0,
      total: 'none',
    });
    observation = observations[0]!.id!;
    // The damage: a chart changed, one of its results deleted, a new problem added; another chart changed.
    const p = await store.read('Patient', patient);
    await store.update({ ...p, birthDate: '1901-01-01' } as Resource);
    await store.delete('Observation', observation);
    await store.create({
      resourceType: 'Condition',
      subject: { reference: `Patient/${patient}` },
      code: { text: 'added after the backup' },
    } as Resource);
    const o = await store.read('Patient', other);
    await store.update({ ...o, birthDate: '1902-02-02' } as Resource);
  });
  assert.equal(chartvault('backup', 'run', '--data', data, '--key-dir', keys, '--to', target).status, 0);
});
after(() => folder.remove());

const restore = (...args: string[]) =>
  chartvault('restore', '--from', target, '--kit', kit, '--data', data, '--key-dir', keys, ...args);

test('a dry run names what would come back and writes nothing', async () => {
  const before = await withStore((store) => versionsOf(store, 'Patient', patient));
  const dry = restore('--patient', patient, '--at', firstSnapshotTime, '--dry-run');
  assert.equal(dry.status, 0, dry.stderr);
  assert.match(
    dry.stdout,
    /Would restore Patient\/\S+ from snapshot [0-9a-f]{12} .*: 2 resources would be written back/,
  );
  assert.match(dry.stdout, new RegExp(`would restore Patient/${patient}\\n`));
  assert.match(dry.stdout, new RegExp(`would restore Observation/${observation}\\n`));
  assert.match(dry.stdout, /1 resources of this chart were made after the snapshot and are kept/);
  assert.equal(await withStore((store) => versionsOf(store, 'Patient', patient)), before);
});

test('restore --patient --at brings the chart back as new versions and leaves the rest as it is', async () => {
  const result = restore('--patient', patient, '--at', firstSnapshotTime);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /Restored Patient\/\S+ .*: 2 resources were written back as new versions/);
  await withStore(async (store) => {
    const p = await store.read('Patient', patient);
    assert.notEqual(p.birthDate, '1901-01-01');
    assert.equal(await versionsOf(store, 'Patient', patient), 3, 'the damaged version stays in the history');
    assert.equal(
      (await store.read('Observation', observation)).id,
      observation,
      'the deleted result is back',
    );
    const { resources: conditions } = await store.search({
      types: ['Condition'],
      criteria: [{ kind: 'reference', code: 'subject', values: [`Patient/${patient}`] }],
      sort: [],
      count: 100,
      offset: 0,
      total: 'none',
    });
    assert.ok(conditions.some((c) => (c.code as { text?: string }).text === 'added after the backup'));
    assert.equal((await store.read('Patient', other)).birthDate, '1902-02-02', 'another chart is untouched');
  });
  const again = restore('--patient', patient, '--at', firstSnapshotTime);
  assert.match(again.stdout, /: 0 resources were written back as new versions/);
  assert.equal(chartvault('audit', 'verify', '--data', data, '--key-dir', keys).status, 0);
});

test('--at picks the newest snapshot taken at or before the time, for a whole restore too', () => {
  const restored = join(folder.path, 'restored');
  const whole = restoreInto(
    target,
    kit,
    restored,
    join(folder.path, 'restored-keys'),
    '--at',
    firstSnapshotTime,
  );
  assert.equal(whole.status, 0, whole.stderr);
  assert.match(whole.stdout, /Restored snapshot [0-9a-f]{12} \(#1,/);
  const early = restore('--patient', patient, '--at', '2000-01-01T00:00:00Z');
  assert.notEqual(early.status, 0);
  assert.match(
    early.stderr,
    /holds no snapshot taken at or before 2000-01-01T00:00:00.000Z; the oldest was taken/,
  );
  const bad = restore('--patient', patient, '--at', 'yesterday-ish');
  assert.match(bad.stderr, /--at takes a date and time/);
  const both = restore('--patient', patient, '--at', firstSnapshotTime, '--snapshot', 'abcdef012345');
  assert.match(both.stderr, /Give --at or --snapshot, not both/);
  const tricky = restore('--patient', '../etc/passwd');
  assert.match(tricky.stderr, /--patient takes a patient id/);
});
