import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createTempStore } from '../../test/testStore.ts';
import { openStore, StoreError } from './index.ts';

const UNUSUAL_NAME = 'Quetzalcoatlus-Vanderwhistle-Oyelaran';

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
}

test('patient data is nowhere in the data directory in plaintext (database, WAL, journal, temp files)', async () => {
  const temp = createTempStore();
  try {
    const { store } = temp;
    for (let i = 0; i < 50; i++) {
      await store.create({
        resourceType: 'Patient',
        name: [{ family: UNUSUAL_NAME, given: [`Given${i}`] }],
        birthDate: '1970-01-01',
      });
    }
    const { resource } = await store.create({ resourceType: 'Patient', name: [{ family: UNUSUAL_NAME }] });
    await store.update({ ...resource, name: [{ family: UNUSUAL_NAME, given: ['Updated'] }] });
    // While open: the WAL holds the recent writes.
    const whileOpen = filesUnder(temp.dataDir);
    assert.ok(
      whileOpen.some((f) => f.endsWith('-wal')),
      'the WAL file exists while the store is open',
    );
    for (const file of whileOpen) {
      assert.ok(!readFileSync(file).includes(UNUSUAL_NAME), `${file} must not contain the patient's name`);
      assert.ok(
        !readFileSync(file).includes(Buffer.from(UNUSUAL_NAME, 'utf16le')),
        `${file} must not contain it as UTF-16`,
      );
    }
    // grep agrees, as an operator would check.
    let grepOutput = '';
    try {
      grepOutput = execFileSync('grep', ['-r', '-l', UNUSUAL_NAME, temp.dataDir], { encoding: 'utf8' });
    } catch (error) {
      assert.equal((error as { status: number }).status, 1, 'grep exits 1 when nothing matches');
    }
    assert.equal(grepOutput, '');
    // And the data is really there for the key holder.
    const found = await store.search({
      types: ['Patient'],
      criteria: [{ kind: 'string', code: 'family', values: [UNUSUAL_NAME] }],
      sort: [],
      count: 100,
      offset: 0,
      total: 'accurate',
    });
    assert.equal(found.total, 51);
  } finally {
    await temp.cleanup();
  }
});

test('a wrong key, a missing key and a key readable by others are refused with clear errors', async () => {
  const temp = createTempStore();
  try {
    await temp.store.create({ resourceType: 'Patient', active: true });
    await temp.store.close();
    const [keyFile] = readdirSync(temp.keyDir).filter((f) => !f.endsWith('.backup.key'));
    const keyPath = join(temp.keyDir, keyFile!);
    assert.equal(statSync(keyPath).mode & 0o777, 0o600);
    assert.equal(statSync(temp.keyDir).mode & 0o777, 0o700);

    process.env.CHARTVAULT_DATA_KEY = 'ab'.repeat(32);
    assert.throws(
      () => openStore(temp.dataDir, temp.keyDir),
      (e: Error) => e instanceof StoreError && /wrong key/.test(e.message),
    );
    delete process.env.CHARTVAULT_DATA_KEY;

    assert.throws(
      () => openStore(temp.dataDir, join(temp.root, 'elsewhere')),
      (e: Error) => e instanceof StoreError && /No data key/.test(e.message),
    );

    chmodSync(keyPath, 0o644);
    assert.throws(
      () => openStore(temp.dataDir, temp.keyDir),
      (e: Error) => e instanceof StoreError && /chmod 600/.test(e.message),
    );
    chmodSync(keyPath, 0o600);
    chmodSync(temp.keyDir, 0o755);
    assert.throws(
      () => openStore(temp.dataDir, temp.keyDir),
      (e: Error) => e instanceof StoreError && /chmod 700/.test(e.message),
    );
    chmodSync(temp.keyDir, 0o700);

    const { store } = openStore(temp.dataDir, temp.keyDir);
    assert.equal((await store.countByType()).Patient, 1);
    temp.store = store;
  } finally {
    delete process.env.CHARTVAULT_DATA_KEY;
    await temp.cleanup();
  }
});

test('every version is kept; delete writes a tombstone; optimistic locking refuses stale writes', async () => {
  const temp = createTempStore();
  try {
    const { store } = temp;
    const { resource: v1 } = await store.create({
      resourceType: 'Observation',
      status: 'preliminary',
      code: { text: 'x' },
    });
    assert.equal(v1.meta?.versionId, '1');
    const { resource: v2, created } = await store.update({ ...v1, status: 'final' }, { ifMatchVersion: '1' });
    assert.equal(created, false);
    assert.equal(v2.meta?.versionId, '2');
    await assert.rejects(
      store.update({ ...v1, status: 'amended' }, { ifMatchVersion: '1' }),
      (e: { status: number }) => e.status === 412,
    );
    const deleted = await store.delete('Observation', v1.id!);
    assert.deepEqual(deleted, { deleted: true, versionId: '3' });
    await assert.rejects(store.read('Observation', v1.id!), (e: { status: number }) => e.status === 410);
    assert.equal((await store.vread('Observation', v1.id!, '1')).status, 'preliminary');
    assert.equal((await store.vread('Observation', v1.id!, '2')).status, 'final');
    await assert.rejects(
      store.vread('Observation', v1.id!, '3'),
      (e: { status: number }) => e.status === 410,
    );
    const history = await store.history({ resourceType: 'Observation', id: v1.id!, count: 10, offset: 0 });
    assert.deepEqual(
      history.versions.map((v) => [v.versionId, v.method]),
      [
        ['3', 'delete'],
        ['2', 'update'],
        ['1', 'create'],
      ],
    );
    // A deleted resource is not found by search, and comes back with the next update.
    const search = {
      types: ['Observation'],
      criteria: [],
      sort: [],
      count: 10,
      offset: 0,
      total: 'accurate' as const,
    };
    assert.equal((await store.search(search)).total, 0);
    const { resource: v4, created: recreated } = await store.update({ ...v1, status: 'final' });
    assert.equal(recreated, true);
    assert.equal(v4.meta?.versionId, '4');
    assert.equal((await store.search(search)).total, 1);
  } finally {
    await temp.cleanup();
  }
});

test('a failed transaction leaves nothing behind, a successful one keeps everything', async () => {
  const temp = createTempStore();
  try {
    const { store } = temp;
    await assert.rejects(
      store.transaction(async (tx) => {
        await tx.create({ resourceType: 'Patient', name: [{ family: 'Rollback' }] });
        const seen = await tx.search({
          types: ['Patient'],
          criteria: [],
          sort: [],
          count: 10,
          offset: 0,
          total: 'accurate',
        });
        assert.equal(seen.total, 1, 'the transaction sees its own write');
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.deepEqual(await store.countByType(), {});
    await store.transaction(async (tx) => {
      await tx.create({ resourceType: 'Patient', name: [{ family: 'Kept' }] });
      await tx.create({ resourceType: 'Patient', name: [{ family: 'Kept' }] });
    });
    assert.deepEqual(await store.countByType(), { Patient: 2 });
  } finally {
    await temp.cleanup();
  }
});

test('re-writing identical content through writeBatch adds no version', async () => {
  const temp = createTempStore();
  try {
    const { store } = temp;
    const patient = { resourceType: 'Patient', id: 'same-1', name: [{ family: 'Same' }] };
    assert.deepEqual(await store.writeBatch([{ kind: 'put', resource: patient }]), ['created']);
    assert.deepEqual(await store.writeBatch([{ kind: 'put', resource: patient }]), ['unchanged']);
    assert.deepEqual(await store.writeBatch([{ kind: 'put', resource: { ...patient, gender: 'female' } }]), [
      'updated',
    ]);
    assert.equal((await store.read('Patient', 'same-1')).meta?.versionId, '2');
  } finally {
    await temp.cleanup();
  }
});
