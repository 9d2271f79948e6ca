/**
 * The audit appends' fast paths keep the format and what searches see: entries are written member by
 * member (the same bytes as the canonical form of the whole entry), and the per-patient rows, written
 * many entries at a time, are complete whenever a search by patient runs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3-multiple-ciphers';
import { openStore, readSettings } from '../store/index.ts';
import { canonicalEntry } from '../store/sqlite/auditLog.ts';
import type { AuditEntryDraft } from '../store/index.ts';
import { createTempStore } from '../../test/testStore.ts';
import { canonicalJson } from './chainFormat.ts';

const agent = { type: 'unauthenticated', address: '127.0.0.1' };
const read = (patient: string): AuditEntryDraft => ({
  agent,
  action: 'read',
  resource: { type: 'Patient', id: patient },
  patients: [patient],
  outcome: 'success',
  status: 200,
});

test('an entry written member by member has the canonical bytes of the whole entry', () => {
  const time = '2025-03-04T10:00:00.123Z';
  const drafts: AuditEntryDraft[] = [
    read('p1'),
    { agent: { type: 'os-user', id: 'ana@host' }, action: 'import', outcome: 'success' },
    {
      agent: { type: 'user', id: 'u1', display: 'Zoë “Z” Ñ\u0001', address: '::1' },
      action: 'search',
      resource: { type: 'Observation' },
      patients: ['b', 'a', 'b', 'c'],
      outcome: 'failure',
      status: 403,
      detail: { query: 'name=é&x="y"', count: 0, error: 'forbidden' },
    },
    {
      agent,
      action: 'vread',
      resource: { type: 'Patient', id: 'p', version: '2' },
      outcome: 'success',
      detail: {},
    },
    { agent, action: 'read', patients: [], outcome: 'success', status: 404 },
    // Members beyond the usual ones, a number, and an undefined member take the general path.
    {
      agent: {
        type: 'client',
        id: 'c1',
        scopes: 'system/*.rs',
        count: 3,
      } as unknown as AuditEntryDraft['agent'],
      action: 'export',
      resource: { type: 'Patient', id: undefined },
      outcome: 'success',
    },
  ];
  for (const draft of drafts) {
    const whole = canonicalJson({
      v: 1,
      time,
      agent: draft.agent,
      action: draft.action,
      resource: draft.resource,
      patients: draft.patients?.length ? [...new Set(draft.patients)].sort() : undefined,
      outcome: draft.outcome,
      status: draft.status,
      detail: draft.detail && Object.keys(draft.detail).length > 0 ? draft.detail : undefined,
    });
    assert.equal(canonicalEntry(draft, time), whole);
  }
  assert.throws(() => canonicalEntry({ ...read('p'), status: 1.5 }, time), /integers only/);
});

test('a search by patient right after group-committed reads finds every one of them', async () => {
  const temp = createTempStore();
  try {
    await Promise.all(Array.from({ length: 30 }, (_, i) => temp.store.appendAudit(read(`p${i % 3}`))));
    const found = await temp.store.searchAudit({ patient: 'p1', limit: 100 });
    assert.equal(found.length, 10);
    const byEntity = await temp.store.searchAudit({ entity: { type: 'Patient', id: 'p2' }, limit: 100 });
    assert.equal(byEntity.length, 10);
  } finally {
    await temp.cleanup();
  }
});

test('entries of a long write transaction are all found by patient, also after reopening', async () => {
  const temp = createTempStore();
  try {
    // More entries than one indexing pass takes.
    await temp.store.transaction(async (tx) => {
      for (let i = 0; i < 6000; i++) await tx.appendAudit(read(i % 2 === 0 ? 'even' : 'odd'));
    });
    assert.equal((await temp.store.searchAudit({ patient: 'odd', limit: 10_000 })).length, 3000);
    await temp.store.close();
    const reopened = openStore(temp.dataDir, temp.keyDir).store;
    try {
      await reopened.appendAudit(read('even'));
      assert.equal((await reopened.searchAudit({ patient: 'even', limit: 10_000 })).length, 3001);
    } finally {
      await reopened.close();
    }
  } finally {
    await temp.cleanup();
  }
});

test('a store made before the per-patient rows were deferred keeps its rows and adds new ones', async () => {
  const temp = createTempStore();
  try {
    for (let i = 0; i < 5; i++) await temp.store.appendAudit(read('old'));
    await temp.store.close();
    // As such a store was: every entry's rows written with it, and no record of how far that went.
    const raw = new Database(join(temp.dataDir, 'chartvault.db'));
    raw.pragma(`cipher='sqlcipher'`);
    raw.pragma('legacy=4');
    raw.pragma(
      `key="x'${readFileSync(join(temp.keyDir, `${readSettings(temp.dataDir).storeId}.key`), 'utf8').trim()}'"`,
    );
    raw.exec('DROP TABLE audit_patient_indexed');
    raw.close();
    const reopened = openStore(temp.dataDir, temp.keyDir).store;
    try {
      await reopened.appendAudit(read('old'));
      assert.equal((await reopened.searchAudit({ patient: 'old', limit: 100 })).length, 6);
    } finally {
      await reopened.close();
    }
  } finally {
    await temp.cleanup();
  }
});

test('canonical JSON sorts members, leaves out undefined ones and refuses null and fractions', () => {
  assert.equal(
    canonicalJson({ b: 1, a: [true, 'x\n"'], c: { z: 'é', y: undefined }, e: {}, d: [] }),
    '{"a":[true,"x\\n\\""],"b":1,"c":{"z":"é"},"d":[],"e":{}}',
  );
  assert.equal(canonicalJson({ a: undefined }), '{}');
  assert.throws(() => canonicalJson({ a: null }), /null/);
  assert.throws(() => canonicalJson({ a: 0.5 }), /integers only/);
});

test('group commits do not wait for the disk, write transactions after them do (synchronous = FULL)', async () => {
  const temp = createTempStore();
  try {
    await Promise.all([temp.store.appendAudit(read('p')), temp.store.appendAudit(read('q'))]);
    // The writer connection, as the store's own transactions see it.
    const writer = (temp.store as unknown as { writer: Database.Database }).writer;
    assert.equal(writer.pragma('synchronous', { simple: true }), 1, 'group commits run with NORMAL');
    const modes = await temp.store.transaction(async () => writer.pragma('synchronous', { simple: true }));
    assert.equal(modes, 2, 'FULL');
    await temp.store.appendAudit(read('p'));
    await temp.store.create({ resourceType: 'Patient' });
    assert.equal(writer.pragma('synchronous', { simple: true }), 2, 'FULL after a write');
  } finally {
    await temp.cleanup();
  }
});
