/**
 * `audit verify` splits a long chain between worker threads, each checking its range of entries against
 * the stored hash before it. Whatever the split, it must name the same first broken entry as a walk
 * from the start: these cases edit the database file directly (with the data key) and compare.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3-multiple-ciphers';
import { ensureAuditSigningKey, linkHash, verifyAuditChain, writeCheckpoint } from '../../src/audit/index.ts';
import { openStore, readSettings } from '../../src/store/index.ts';
import { chartvault } from '../cli.ts';
import { tamperedCopy } from '../rawDatabase.ts';
import { tempFolder } from '../testStore.ts';

/** Long enough for several chunks of the fast path (2,000 entries) in each of two threads. */
const ENTRIES = 5000;

describe('audit verify on worker threads', () => {
  const folder = tempFolder('chartvault-audit-parallel-');
  const keyDir = join(folder.path, 'keys');
  const original = join(folder.path, 'original');
  let storeId: string;
  let cases = 0;

  before(async () => {
    const init = chartvault('init', '--data', original, '--key-dir', keyDir, '--yes');
    assert.equal(init.status, 0, init.stderr);
    storeId = readSettings(original).storeId;
    const { store } = openStore(original, keyDir);
    const head = await store.auditHead();
    await store.transaction(async (tx) => {
      for (let i = head.seq; i < ENTRIES; i++)
        await tx.appendAudit({
          agent: { type: 'unauthenticated', address: '127.0.0.1' },
          action: i % 7 === 0 ? 'search' : 'read',
          resource: { type: 'Patient', id: `p${i % 100}` },
          patients: [`p${i % 100}`],
          outcome: 'success',
          status: 200,
          ...(i % 7 === 0 ? { detail: { query: 'name=é&birthdate=1970', count: 1 } } : {}),
        });
    });
    const key = ensureAuditSigningKey(keyDir, storeId);
    await writeCheckpoint(store, { dataDir: original, storeId, key });
    await store.close();
  });
  after(() => folder.remove());

  function tampered(tamper: (db: Database.Database) => void): string {
    const dataDir = join(folder.path, `case-${++cases}`);
    const triggers = ['audit_entry_no_update', 'audit_entry_no_delete'];
    return tamperedCopy(original, dataDir, keyDir, storeId, triggers, tamper);
  }

  /** The reports of verify with 1, 2 and 3 threads, which must agree. */
  async function verifyAll(dataDir: string) {
    const reports = [];
    for (const threads of [1, 2, 3]) {
      const { store } = openStore(dataDir, keyDir);
      try {
        const publicKey = ensureAuditSigningKey(keyDir, storeId).publicKey;
        reports.push(await verifyAuditChain({ store, dataDir, storeId, publicKey, threads }));
      } finally {
        await store.close();
      }
    }
    assert.deepEqual(reports[1], reports[0], 'two threads agree with one');
    assert.deepEqual(reports[2], reports[0], 'three threads agree with one');
    return reports[0]!;
  }

  const modify = (seq: number) => (db: Database.Database) =>
    db.prepare(`UPDATE audit_entry SET entry = replace(entry, '"read"', '"vread"') WHERE seq = ?`).run(seq);

  test('an intact chain passes whatever the number of threads', async () => {
    const report = await verifyAll(original);
    assert.equal(report.ok, true, report.problem);
    assert.equal(report.entries, ENTRIES);
    assert.equal(report.lastCheckpoint?.seq, ENTRIES);
  });

  test('a break in the second thread’s half is named', async () => {
    const report = await verifyAll(tampered(modify(4001)));
    assert.equal(report.ok, false);
    assert.equal(report.brokenSeq, 4001);
    assert.match(report.problem!, /^entry #4001 does not match its hash/);
  });

  test('with breaks in both halves, the first one is named', async () => {
    const report = await verifyAll(
      tampered((db) => {
        modify(4001)(db);
        modify(1201)(db);
      }),
    );
    assert.equal(report.brokenSeq, 1201);
    assert.equal(report.entries, 1200);
  });

  test('an entry deleted at the end of the first thread’s range is named, with the next one stored', async () => {
    const report = await verifyAll(
      tampered((db) => db.prepare('DELETE FROM audit_entry WHERE seq = ?').run(ENTRIES / 2)),
    );
    assert.equal(
      report.problem,
      `entry #${ENTRIES / 2} is missing (the next stored entry is #${ENTRIES / 2 + 1}): an entry was deleted`,
    );
  });

  test('entries deleted across the boundary between threads are named from the first', async () => {
    const report = await verifyAll(
      tampered((db) => db.prepare('DELETE FROM audit_entry WHERE seq BETWEEN 2499 AND 2502').run()),
    );
    assert.equal(
      report.problem,
      'entry #2499 is missing (the next stored entry is #2503): an entry was deleted',
    );
    assert.equal(report.brokenSeq, 2499);
  });

  test('a rewritten tail with recomputed hashes is caught by the checkpoint', async () => {
    const report = await verifyAll(
      tampered((db) => {
        const rows = db
          .prepare('SELECT seq, entry FROM audit_entry WHERE seq >= 3000 ORDER BY seq')
          .all() as { seq: number; entry: string }[];
        let previous = (db.prepare('SELECT hash FROM audit_entry WHERE seq = 2999').get() as { hash: Buffer })
          .hash;
        const update = db.prepare('UPDATE audit_entry SET entry = ?, hash = ? WHERE seq = ?');
        for (const { seq, entry } of rows) {
          const forged = seq === 3000 ? entry.replace('"read"', '"vread"') : entry;
          previous = linkHash(previous, forged);
          update.run(forged, previous, seq);
        }
      }),
    );
    assert.match(
      report.problem!,
      new RegExp(`does not match entry #${ENTRIES}: the chain up to #${ENTRIES} was rewritten`),
    );
  });

  test('a time column changed in the second half is named', async () => {
    const report = await verifyAll(
      tampered((db) => db.prepare('UPDATE audit_entry SET time = time + 1 WHERE seq = 3333').run()),
    );
    assert.equal(report.problem, "entry #3333 has a time column that differs from the entry's time");
  });

  test('an entry stored before #1 is out of order', async () => {
    const report = await verifyAll(
      tampered((db) =>
        db
          .prepare(
            'INSERT INTO audit_entry (seq, time, entry, hash) SELECT 0, time, entry, hash FROM audit_entry WHERE seq = 1',
          )
          .run(),
      ),
    );
    assert.equal(report.problem, 'entry #0 is out of order');
    assert.equal(report.brokenSeq, 1);
  });
});
