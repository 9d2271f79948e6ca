/**
 * The audit chain against tampering: each case edits a copy of the database file directly, with the data
 * key (as someone holding it could), and `chartvault audit verify` must name the first broken entry.
 */
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3-multiple-ciphers';
import { AuditTrail, linkHash } from '../../src/audit/index.ts';
import { openStore, readSettings } from '../../src/store/index.ts';
import { chartvault } from '../cli.ts';
import { tamperedCopy } from '../rawDatabase.ts';
import { tempFolder } from '../testStore.ts';

const agent = { type: 'unauthenticated', address: '127.0.0.1' };

describe('audit verify catches tampering', () => {
  const folder = tempFolder('chartvault-audit-chain-');
  const keyDir = join(folder.path, 'keys');
  const original = join(folder.path, 'original');
  let storeId: string;
  let olderCopy: string;
  let cases = 0;

  before(async () => {
    const init = chartvault('init', '--data', original, '--key-dir', keyDir, '--yes');
    assert.equal(init.status, 0, init.stderr);
    storeId = readSettings(original).storeId;
    const { store } = openStore(original, keyDir);
    const trail = await AuditTrail.open({ store, dataDir: original, keyDir, storeId });
    const patient = await store.create({ resourceType: 'Patient', active: true });
    for (let i = 0; i < 19; i++)
      await store.appendAudit({
        agent,
        action: 'read',
        resource: { type: 'Patient', id: patient.resource.id },
        patients: [patient.resource.id!],
        outcome: 'success',
        status: 200,
      });
    await trail.checkpoint(); // #20
    for (let i = 0; i < 10; i++) await store.appendAudit({ agent, action: 'search', outcome: 'success' });
    await store.close();
    // A copy of the database as it was then, for the rollback case.
    olderCopy = join(folder.path, 'older.db');
    copyFileSync(join(original, 'chartvault.db'), olderCopy);
    const reopened = openStore(original, keyDir).store;
    const trail2 = await AuditTrail.open({ store: reopened, dataDir: original, keyDir, storeId }); // #30
    await reopened.appendAudit({ agent, action: 'read', outcome: 'success' });
    await trail2.close(); // #31
    await reopened.close();
  });
  after(() => folder.remove());

  /** A copy of the store, edited by `tamper` with the raw database (triggers dropped, as an attacker would). */
  function tampered(tamper: (db: Database.Database, dataDir: string) => void): string {
    const dataDir = join(folder.path, `case-${++cases}`);
    const triggers = [
      'audit_entry_no_update',
      'audit_entry_no_delete',
      'audit_checkpoint_no_update',
      'audit_checkpoint_no_delete',
    ];
    return tamperedCopy(original, dataDir, keyDir, storeId, triggers, (db) => tamper(db, dataDir));
  }

  const verify = (dataDir: string) => chartvault('audit', 'verify', '--data', dataDir, '--key-dir', keyDir);
  const entryAt = (db: Database.Database, seq: number) =>
    db.prepare('SELECT entry, hash FROM audit_entry WHERE seq = ?').get(seq) as {
      entry: string;
      hash: Buffer;
    };

  test('an intact chain passes, with its entry count and last checkpoint', () => {
    const result = verify(original);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /Audit chain intact: 31 entries/);
    assert.match(result.stdout, /Last checkpoint: entry #31/);
  });

  test('a modified entry is named', () => {
    const dataDir = tampered((db) => {
      db.prepare(
        'UPDATE audit_entry SET entry = replace(entry, \'"read"\', \'"vread"\') WHERE seq = 5',
      ).run();
    });
    const result = verify(dataDir);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /entry #5 does not match its hash/);
  });

  test('a deleted entry is named', () => {
    const result = verify(tampered((db) => db.prepare('DELETE FROM audit_entry WHERE seq = 7').run()));
    assert.equal(result.status, 1);
    assert.match(result.stderr, /entry #7 is missing/);
  });

  test('an inserted entry (with a correct hash of its own) breaks the entry after it', () => {
    const dataDir = tampered((db) => {
      db.prepare('UPDATE audit_entry SET seq = seq + 1000 WHERE seq >= 8').run();
      db.prepare('UPDATE audit_entry SET seq = seq - 999 WHERE seq >= 1008').run();
      const forged = entryAt(db, 7).entry.replace('"read"', '"vread"');
      db.prepare('INSERT INTO audit_entry (seq, time, entry, hash) VALUES (8, ?, ?, ?)').run(
        Date.parse(JSON.parse(forged).time),
        forged,
        linkHash(entryAt(db, 7).hash, forged),
      );
    });
    const result = verify(dataDir);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /entry #9 does not match its hash/);
  });

  test('two swapped entries are named', () => {
    const dataDir = tampered((db) => {
      const [three, four] = [entryAt(db, 3), entryAt(db, 4)];
      db.prepare('UPDATE audit_entry SET entry = ?, hash = ? WHERE seq = 3').run(four.entry, four.hash);
      db.prepare('UPDATE audit_entry SET entry = ?, hash = ? WHERE seq = 4').run(three.entry, three.hash);
    });
    const result = verify(dataDir);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /entry #3 does not match its hash/);
  });

  test('a cut-off tail is caught against the newest checkpoint', () => {
    const result = verify(tampered((db) => db.prepare('DELETE FROM audit_entry WHERE seq >= 25').run()));
    assert.equal(result.status, 1);
    assert.match(
      result.stderr,
      /the chain ends at #24 but checkpoint #3\d in the database covers #3\d: entries after #24 were cut off/,
    );
  });

  test('a tail cut off together with the checkpoints inside the database is caught by the file outside it', () => {
    const dataDir = tampered((db) => {
      db.prepare('DELETE FROM audit_entry WHERE seq >= 25').run();
      db.prepare('DELETE FROM audit_checkpoint WHERE seq > 20').run();
    });
    const result = verify(dataDir);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /the chain ends at #24 but line \d of audit-checkpoints.jsonl covers #3\d/);
  });

  test('a chain rewritten from the start, hashes and all, does not match the signed checkpoints', () => {
    const dataDir = tampered((db) => {
      const rows = db.prepare('SELECT seq, entry FROM audit_entry ORDER BY seq').all() as {
        seq: number;
        entry: string;
      }[];
      let previous: Buffer = Buffer.alloc(32);
      for (const row of rows) {
        const entry = row.seq === 2 ? row.entry.replace('127.0.0.1', '10.9.9.9') : row.entry;
        previous = linkHash(previous, entry);
        db.prepare('UPDATE audit_entry SET entry = ?, hash = ? WHERE seq = ?').run(entry, previous, row.seq);
      }
    });
    const result = verify(dataDir);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /does not match entry #\d+: the chain up to #\d+ was rewritten/);
  });

  test('a checkpoint with an altered payload has a bad signature', () => {
    const dataDir = tampered((db) => {
      db.prepare(
        'UPDATE audit_checkpoint SET line = replace(line, \'"seq":20\', \'"seq":19\') WHERE seq = 20',
      ).run();
    });
    const result = verify(dataDir);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /bad signature|stored under #20 but covers #19/);
  });

  test('a checkpoint line forged in the file outside has a bad signature', () => {
    const dataDir = tampered(() => undefined);
    const file = join(dataDir, 'audit-checkpoints.jsonl');
    const last = JSON.parse(readFileSync(file, 'utf8').trim().split('\n').at(-1)!);
    writeFileSync(file, JSON.stringify({ ...last, seq: 31, time: '2030-01-01T00:00:00.000Z' }) + '\n', {
      flag: 'a',
    });
    const result = verify(dataDir);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /line \d of audit-checkpoints.jsonl has a bad signature/);
  });

  test('rolling the whole database file back to an older copy is noticed', () => {
    const dataDir = tampered(() => undefined);
    copyFileSync(olderCopy, join(dataDir, 'chartvault.db'));
    const result = verify(dataDir);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /the chain ends at #30 but line \d of audit-checkpoints.jsonl covers #31/);
  });
});
