/**
 * Every FHIR interaction lands in the audit chain (who, what, when, from where, outcome), and the chain
 * is readable, never writable, as AuditEvent; `chartvault report access` lists who saw a record.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readFileSync } from 'node:fs';
import { chartvault } from '../cli.ts';
import { openRawDatabase } from '../rawDatabase.ts';
import { fhirFetch, startServer, type TestServer } from '../testServer.ts';
import { createTempStore, type TempStore } from '../testStore.ts';

describe('audit of FHIR interactions', () => {
  let temp: TempStore;
  let server: TestServer;
  let patientId: string;
  let observationId: string;
  const events = async (query: string) => {
    const { status, body } = await fhirFetch(`${server.base}/AuditEvent?${query}`);
    assert.equal(status, 200, JSON.stringify(body));
    return (body.entry ?? []).map((e: any) => e.resource);
  };

  before(async () => {
    temp = createTempStore();
    server = await startServer(temp.store);
    const patient = await fhirFetch(`${server.base}/Patient`, {
      method: 'POST',
      body: { resourceType: 'Patient', name: [{ family: 'Quillfeather', given: ['Ada'] }] },
    });
    patientId = patient.body.id;
    const observation = await fhirFetch(`${server.base}/Observation`, {
      method: 'POST',
      body: {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'weight' },
        subject: { reference: `Patient/${patientId}` },
      },
    });
    observationId = observation.body.id;
    assert.equal((await fhirFetch(`${server.base}/Patient/${patientId}`)).status, 200);
    assert.equal(
      (await fhirFetch(`${server.base}/Observation?_include=Observation:subject&code:text=weight`)).status,
      200,
    );
    assert.equal((await fhirFetch(`${server.base}/Patient/no-such-patient`)).status, 404);
  });
  after(async () => {
    await server.close();
    await temp.cleanup();
  });

  test('creates, a read, a search with its patients and a failed read are recorded, newest first', async () => {
    const found = await events(`patient=${patientId}&_sort=-date`);
    const summary = found.map((e: any) => `${e.action} ${e.subtype[0].code} ${e.outcome}`);
    assert.deepEqual(summary, ['R search 0', 'R read 0', 'C create 0', 'C create 0']);
    const [search, read] = found;
    assert.equal(read.agent[0].network.address, '127.0.0.1');
    // The registered system client whose token the test server's requests carry, with its role.
    assert.equal(read.agent[0].type.text, 'client');
    assert.match(read.agent[0].who.identifier.value, /\S/);
    assert.equal(read.agent[0].role[0].text, 'system');
    assert.equal(read.entity[0].what.reference, `Patient/${patientId}`);
    // The search returned the Observation and, as an include, the Patient: both name the patient.
    assert.ok(search.entity.some((e: any) => e.what.reference === `Patient/${patientId}`));
    assert.equal(
      Buffer.from(search.entity[0].query, 'base64').toString(),
      '_include=Observation%3Asubject&code%3Atext=weight',
    );
    const failed = await events('outcome=4');
    assert.ok(
      failed.some(
        (e: any) =>
          e.entity?.[0]?.what.reference === 'Patient/no-such-patient' && e.outcomeDesc.includes('404'),
      ),
    );
  });

  test('AuditEvent search by action, entity, date and agent; read by id', async () => {
    const creates = await events(`action=C&patient=${patientId}`);
    assert.equal(creates.length, 2);
    const aboutObservation = await events(`entity=Observation/${observationId}`);
    assert.equal(aboutObservation.length, 1);
    assert.equal(aboutObservation[0].entity[0].what.reference, `Observation/${observationId}/_history/1`);
    const newest = await events(`patient=${patientId}&_sort=-date&_count=1`);
    const recorded = newest[0].recorded as string;
    // Only the AuditEvent search just made is later: reading the audit about a patient is recorded too.
    const later = await events(`patient=${patientId}&date=gt${recorded}`);
    assert.deepEqual(
      later.map((e: any) => `${e.subtype[0].code} ${e.entity[0].what.display}`),
      ['search AuditEvent'],
    );
    assert.equal((await events(`patient=${patientId}&date=le${recorded}&action=C`)).length, 2);
    assert.equal((await events(`patient=${patientId}&date=lt${creates[1].recorded}&action=C`)).length, 1);
    assert.ok((await events(`date=${recorded.slice(0, 10)}`)).length >= 5);
    await temp.store.create({ resourceType: 'Patient', active: false }); // by the process's OS user
    const cliAgent = JSON.parse((await temp.store.searchAudit({ limit: 1, descending: true }))[0]!.entry)
      .agent.id;
    // The same OS user registered the test server's client before: that, and this create.
    const byAgent = await events(`agent=${encodeURIComponent(cliAgent)}`);
    assert.deepEqual(
      byAgent.map((e: any) => e.subtype[0].code),
      ['client-add', 'create'],
    );
    assert.ok(byAgent.every((e: any) => e.agent[0].who.identifier.value === cliAgent));
    const one = await fhirFetch(`${server.base}/AuditEvent/${creates[0].id}`);
    assert.equal(one.status, 200);
    assert.equal(one.body.id, creates[0].id);
    assert.equal((await fhirFetch(`${server.base}/AuditEvent/99999999`)).status, 404);
    const page = await fhirFetch(`${server.base}/AuditEvent?_count=2`);
    const next = page.body.link.find((l: any) => l.relation === 'next').url;
    const second = await fhirFetch(next);
    assert.notEqual(second.body.entry[0].resource.id, page.body.entry[0].resource.id);
  });

  test('AuditEvent cannot be created, changed or deleted, not even inside a transaction', async () => {
    const attempts = [
      fhirFetch(`${server.base}/AuditEvent`, { method: 'POST', body: { resourceType: 'AuditEvent' } }),
      fhirFetch(`${server.base}/AuditEvent/1`, {
        method: 'PUT',
        body: { resourceType: 'AuditEvent', id: '1' },
      }),
      fhirFetch(`${server.base}/AuditEvent/1`, { method: 'DELETE' }),
      fhirFetch(server.base, {
        method: 'POST',
        body: {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [
            { resource: { resourceType: 'AuditEvent' }, request: { method: 'POST', url: 'AuditEvent' } },
          ],
        },
      }),
    ];
    for (const { status, body } of await Promise.all(attempts)) {
      assert.equal(status, 405);
      assert.match(body.issue[0].diagnostics, /Audit entries cannot be changed/);
    }
  });

  test('a transaction records each write with it; a failed one records only its failure', async () => {
    const before = (await temp.store.auditHead()).seq;
    const ok = await fhirFetch(server.base, {
      method: 'POST',
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            fullUrl: 'urn:uuid:a',
            resource: { resourceType: 'Patient' },
            request: { method: 'POST', url: 'Patient' },
          },
          {
            resource: {
              resourceType: 'Observation',
              status: 'final',
              code: { text: 'x' },
              subject: { reference: 'urn:uuid:a' },
            },
            request: { method: 'POST', url: 'Observation' },
          },
        ],
      },
    });
    assert.equal(ok.status, 200);
    const failed = await fhirFetch(server.base, {
      method: 'POST',
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } },
          { request: { method: 'DELETE', url: 'Patient/x' }, resource: undefined },
          { request: { method: 'PUT', url: 'Patient/y' }, resource: { resourceType: 'Patient', id: 'z' } },
        ],
      },
    });
    assert.equal(failed.status, 400);
    const entries = (await temp.store.auditEntriesAfter(before, 100)).map((r) => JSON.parse(r.entry));
    assert.deepEqual(
      entries.map((e) => `${e.action} ${e.resource?.type ?? ''} ${e.outcome} ${e.detail?.via ?? ''}`),
      [
        'create Patient success transaction',
        'create Observation success transaction',
        'transaction  failure transaction',
      ],
    );
  });

  test('when the audit entry cannot be written, the read fails and returns no data', async () => {
    const storeId = JSON.parse(readFileSync(join(temp.dataDir, 'chartvault.json'), 'utf8')).storeId;
    const db = openRawDatabase(temp.dataDir, temp.keyDir, storeId);
    db.exec(
      "CREATE TRIGGER block_audit BEFORE INSERT ON audit_entry BEGIN SELECT RAISE(ABORT, 'disk trouble'); END",
    );
    try {
      const { status, body } = await fhirFetch(`${server.base}/Patient/${patientId}`);
      assert.equal(status, 500);
      assert.ok(!JSON.stringify(body).includes('Quillfeather'));
    } finally {
      db.exec('DROP TRIGGER block_audit');
      db.close();
    }
    assert.equal((await fhirFetch(`${server.base}/Patient/${patientId}`)).status, 200);
  });

  test('chartvault report access lists who saw the record, as a table and as JSON', () => {
    const accessReport = (...options: string[]) =>
      chartvault(
        'report',
        'access',
        '--data',
        temp.dataDir,
        '--key-dir',
        temp.keyDir,
        '--patient',
        patientId,
        ...options,
      );
    const table = accessReport();
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, new RegExp(`Access to the record of Patient/${patientId}: \\d+ entries`));
    assert.match(table.stdout, /[0-9a-f-]{36} \(client, system\) from 127\.0\.0\.1 +read/);
    const json = accessReport('--json', '--since', '2000-01-01');
    const report = JSON.parse(json.stdout);
    assert.ok(report.accesses.some((a: any) => a.action === 'search' && a.agent.address === '127.0.0.1'));
    const none = accessReport('--since', '2999-01-01');
    assert.match(none.stdout, /0 entries/);
    const bad = accessReport('--since', 'yesterday');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /--since takes a date/);
  });
});
