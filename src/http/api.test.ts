import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { authorizationFor, fhirFetch, useTestServer } from '../../test/testServer.ts';

const server = useTestServer();

const patient = (family: string, extra: Record<string, unknown> = {}) => ({
  resourceType: 'Patient',
  name: [{ family, given: ['Ana'] }],
  gender: 'female',
  birthDate: '1980-04-12',
  ...extra,
});

describe('create, read, vread, update, delete', () => {
  test('create returns 201 with Location, ETag, Last-Modified and the stored resource', async () => {
    const res = await fhirFetch(`${server.base}/Patient`, {
      method: 'POST',
      body: patient('Lindqvist'),
      headers: { prefer: 'return=representation' },
    });
    assert.equal(res.status, 201);
    assert.match(res.headers.get('content-type')!, /application\/fhir\+json/);
    assert.equal(res.body.resourceType, 'Patient');
    assert.equal(res.body.meta.versionId, '1');
    assert.equal(res.headers.get('etag'), 'W/"1"');
    assert.equal(res.headers.get('location'), `${server.base}/Patient/${res.body.id}/_history/1`);
    assert.ok(res.headers.get('last-modified'));
    const read = await fhirFetch(`${server.base}/Patient/${res.body.id}`);
    assert.equal(read.status, 200);
    assert.equal(read.body.name[0].family, 'Lindqvist');
  });

  test('Prefer: return=minimal gives no body; return=OperationOutcome gives an outcome', async () => {
    const minimal = await fhirFetch(`${server.base}/Patient`, {
      method: 'POST',
      body: patient('Minimal'),
      headers: { prefer: 'return=minimal' },
    });
    assert.equal(minimal.status, 201);
    assert.equal(minimal.body, undefined);
    assert.ok(minimal.headers.get('location'));
    const outcome = await fhirFetch(`${server.base}/Patient`, {
      method: 'POST',
      body: patient('Outcome'),
      headers: { prefer: 'return=OperationOutcome' },
    });
    assert.equal(outcome.status, 201);
    assert.equal(outcome.body.resourceType, 'OperationOutcome');
  });

  test('update-as-create with a client id, then update, vread and ETag conflicts', async () => {
    const id = 'client-chosen-1';
    const created = await fhirFetch(`${server.base}/Patient/${id}`, {
      method: 'PUT',
      body: { ...patient('Client'), id },
    });
    assert.equal(created.status, 201);
    const updated = await fhirFetch(`${server.base}/Patient/${id}`, {
      method: 'PUT',
      body: { ...patient('Client'), id, gender: 'other' },
      headers: { 'if-match': 'W/"1"' },
    });
    assert.equal(updated.status, 200);
    assert.equal(updated.body.meta.versionId, '2');
    const stale = await fhirFetch(`${server.base}/Patient/${id}`, {
      method: 'PUT',
      body: { ...patient('Client'), id, gender: 'male' },
      headers: { 'if-match': 'W/"1"' },
    });
    assert.equal(stale.status, 412);
    assert.equal(stale.body.resourceType, 'OperationOutcome');
    const v1 = await fhirFetch(`${server.base}/Patient/${id}/_history/1`);
    assert.equal(v1.body.gender, 'female');
    const missing = await fhirFetch(`${server.base}/Patient/${id}/_history/9`);
    assert.equal(missing.status, 404);
    const mismatch = await fhirFetch(`${server.base}/Patient/${id}`, {
      method: 'PUT',
      body: { ...patient('Client'), id: 'other' },
    });
    assert.equal(mismatch.status, 400);
  });

  test('delete makes reads answer 410 and keeps history; deleting twice is harmless', async () => {
    const { body } = await fhirFetch(`${server.base}/Patient`, { method: 'POST', body: patient('ToDelete') });
    const del = await fhirFetch(`${server.base}/Patient/${body.id}`, { method: 'DELETE' });
    assert.equal(del.status, 200);
    assert.equal((await fhirFetch(`${server.base}/Patient/${body.id}`)).status, 410);
    assert.equal((await fhirFetch(`${server.base}/Patient/${body.id}`, { method: 'DELETE' })).status, 200);
    const history = await fhirFetch(`${server.base}/Patient/${body.id}/_history`);
    assert.equal(history.body.type, 'history');
    assert.deepEqual(
      history.body.entry.map((e: any) => e.request.method),
      ['DELETE', 'POST'],
    );
    assert.equal((await fhirFetch(`${server.base}/Patient/unknown-id`)).status, 404);
  });

  test('a referenced resource may be deleted, and references to missing resources are accepted', async () => {
    const { body: p } = await fhirFetch(`${server.base}/Patient`, {
      method: 'POST',
      body: patient('Referenced'),
    });
    const obs = await fhirFetch(`${server.base}/Observation`, {
      method: 'POST',
      body: {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'note' },
        subject: { reference: `Patient/${p.id}` },
        performer: [{ reference: 'Practitioner/does-not-exist' }],
      },
    });
    assert.equal(obs.status, 201);
    assert.equal((await fhirFetch(`${server.base}/Patient/${p.id}`, { method: 'DELETE' })).status, 200);
  });
});

describe('conditional operations', () => {
  const identifier = (value: string) => [{ system: 'urn:test:mrn', value }];

  test('conditional create (If-None-Exist) creates once, then returns the match; several matches give 412', async () => {
    const body = patient('Conditional', { identifier: identifier('C-1') });
    const first = await fhirFetch(`${server.base}/Patient`, {
      method: 'POST',
      body,
      headers: { 'if-none-exist': 'identifier=urn:test:mrn|C-1' },
    });
    assert.equal(first.status, 201);
    const second = await fhirFetch(`${server.base}/Patient`, {
      method: 'POST',
      body,
      headers: { 'if-none-exist': 'identifier=urn:test:mrn|C-1' },
    });
    assert.equal(second.status, 200);
    assert.equal(second.body.id, first.body.id);
    await fhirFetch(`${server.base}/Patient`, {
      method: 'POST',
      body: patient('Twin', { identifier: identifier('TWIN') }),
    });
    await fhirFetch(`${server.base}/Patient`, {
      method: 'POST',
      body: patient('Twin', { identifier: identifier('TWIN') }),
    });
    const many = await fhirFetch(`${server.base}/Patient`, {
      method: 'POST',
      body,
      headers: { 'if-none-exist': 'identifier=urn:test:mrn|TWIN' },
    });
    assert.equal(many.status, 412);
  });

  test('ten concurrent conditional creates of the same patient store exactly one', async () => {
    const body = patient('Concurrent', { identifier: identifier('RACE-1') });
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        fhirFetch(`${server.base}/Patient`, {
          method: 'POST',
          body,
          headers: { 'if-none-exist': 'identifier=urn:test:mrn|RACE-1' },
        }),
      ),
    );
    assert.deepEqual(results.map((r) => r.status).sort(), [200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    assert.equal(new Set(results.map((r) => r.body.id)).size, 1);
  });

  test('conditional update creates when nothing matches and updates the single match', async () => {
    const url = `${server.base}/Patient?identifier=urn:test:mrn|U-1`;
    const created = await fhirFetch(url, {
      method: 'PUT',
      body: patient('CondUpdate', { identifier: identifier('U-1') }),
    });
    assert.equal(created.status, 201);
    const updated = await fhirFetch(url, {
      method: 'PUT',
      body: patient('CondUpdate', { identifier: identifier('U-1'), gender: 'unknown' }),
    });
    assert.equal(updated.status, 200);
    assert.equal(updated.body.id, created.body.id);
    assert.equal(updated.body.meta.versionId, '2');
    const many = await fhirFetch(`${server.base}/Patient?identifier=urn:test:mrn|TWIN`, {
      method: 'PUT',
      body: patient('X'),
    });
    assert.equal(many.status, 412);
  });

  test('conditional delete removes the single match', async () => {
    const { body } = await fhirFetch(`${server.base}/Patient`, {
      method: 'POST',
      body: patient('CondDelete', { identifier: identifier('D-1') }),
    });
    const del = await fhirFetch(`${server.base}/Patient?identifier=urn:test:mrn|D-1`, { method: 'DELETE' });
    assert.equal(del.status, 200);
    assert.equal((await fhirFetch(`${server.base}/Patient/${body.id}`)).status, 410);
    const many = await fhirFetch(`${server.base}/Patient?identifier=urn:test:mrn|TWIN`, { method: 'DELETE' });
    assert.equal(many.status, 412);
  });
});

describe('search', () => {
  test('by family name and birth date, with total and paging links', async () => {
    for (let i = 0; i < 7; i++) {
      await fhirFetch(`${server.base}/Patient`, {
        method: 'POST',
        body: patient('Åkesson', { birthDate: `19${50 + i}-06-01` }),
      });
    }
    const byName = await fhirFetch(`${server.base}/Patient?family=akesson&_count=3`);
    assert.equal(byName.body.total, 7, 'case- and accent-insensitive match');
    assert.equal(byName.body.entry.length, 3);
    const next = byName.body.link.find((l: any) => l.relation === 'next').url;
    const page2 = await fhirFetch(next);
    assert.equal(page2.body.entry.length, 3);
    const ids = new Set([...byName.body.entry, ...page2.body.entry].map((e: any) => e.resource.id));
    assert.equal(ids.size, 6, 'pages do not overlap');
    const byDate = await fhirFetch(`${server.base}/Patient?family=Åkesson&birthdate=1953-06-01`);
    assert.equal(byDate.body.total, 1);
    const byYear = await fhirFetch(`${server.base}/Patient?family=Åkesson&birthdate=ge1954&birthdate=lt1956`);
    assert.equal(byYear.body.total, 2);
    const exact = await fhirFetch(`${server.base}/Patient?family:exact=akesson`);
    assert.equal(exact.body.total, 0);
  });

  test('by patient reference, token with system, _id and _lastUpdated; POST _search', async () => {
    const { body: p } = await fhirFetch(`${server.base}/Patient`, { method: 'POST', body: patient('Labs') });
    for (const value of [5.2, 6.8, 7.9]) {
      await fhirFetch(`${server.base}/Observation`, {
        method: 'POST',
        body: {
          resourceType: 'Observation',
          status: 'final',
          code: { coding: [{ system: 'http://loinc.org', code: '4548-4' }] },
          subject: { reference: `Patient/${p.id}` },
          effectiveDateTime: '2024-02-01T09:00:00Z',
          valueQuantity: { value, unit: '%', system: 'http://unitsofmeasure.org', code: '%' },
        },
      });
    }
    const byPatient = await fhirFetch(
      `${server.base}/Observation?patient=${p.id}&code=http://loinc.org|4548-4`,
    );
    assert.equal(byPatient.body.total, 3);
    const bySubject = await fhirFetch(
      `${server.base}/Observation?subject=Patient/${p.id}&value-quantity=gt7`,
    );
    assert.equal(bySubject.body.total, 1);
    const byDate = await fhirFetch(`${server.base}/Observation?patient=${p.id}&date=2024-02`);
    assert.equal(byDate.body.total, 3);
    const byId = await fhirFetch(`${server.base}/Patient?_id=${p.id}`);
    assert.equal(byId.body.entry[0].resource.id, p.id);
    const recent = await fhirFetch(`${server.base}/Patient?_id=${p.id}&_lastUpdated=ge2020-01-01`);
    assert.equal(recent.body.total, 1);
    const post = await fetch(`${server.base}/Observation/_search`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...authorizationFor(server.base) },
      body: `patient=${p.id}`,
    });
    assert.equal(((await post.json()) as any).total, 3);
  });

  test('unknown parameters: lenient by default (reported), strict gives 400 naming the parameter', async () => {
    const lenient = await fhirFetch(`${server.base}/Patient?nonsense=1`);
    assert.equal(lenient.status, 200);
    const outcome = lenient.body.entry.find((e: any) => e.resource.resourceType === 'OperationOutcome');
    assert.match(outcome.resource.issue[0].diagnostics, /nonsense/);
    const strict = await fhirFetch(`${server.base}/Patient?nonsense=1`, {
      headers: { prefer: 'handling=strict' },
    });
    assert.equal(strict.status, 400);
    assert.match(strict.body.issue[0].diagnostics, /nonsense/);
    const badDate = await fhirFetch(`${server.base}/Patient?birthdate=2021-13-45`);
    assert.equal(badDate.status, 400);
    assert.match(badDate.body.issue[0].diagnostics, /2021-13-45/);
  });
});

describe('history', () => {
  test('type and system history list versions newest first, with _since', async () => {
    const before = new Date().toISOString();
    const { body } = await fhirFetch(`${server.base}/Practitioner`, {
      method: 'POST',
      body: { resourceType: 'Practitioner', name: [{ family: 'Hist' }] },
    });
    await fhirFetch(`${server.base}/Practitioner/${body.id}`, {
      method: 'PUT',
      body: { ...body, active: true },
    });
    const typeHistory = await fhirFetch(`${server.base}/Practitioner/_history?_since=${before}`);
    assert.equal(typeHistory.body.total, 2);
    assert.deepEqual(
      typeHistory.body.entry.map((e: any) => e.resource.meta.versionId),
      ['2', '1'],
    );
    const system = await fhirFetch(`${server.base}/_history?_count=1`);
    assert.equal(system.body.entry.length, 1);
    assert.ok(system.body.total >= 2);
  });
});

describe('batch and transaction', () => {
  test('a transaction resolves urn:uuid references and conditional references atomically', async () => {
    await fhirFetch(`${server.base}/Practitioner`, {
      method: 'POST',
      body: {
        resourceType: 'Practitioner',
        identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '1234567893' }],
        name: [{ family: 'Npi' }],
      },
    });
    const res = await fhirFetch(server.base, {
      method: 'POST',
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            fullUrl: 'urn:uuid:6f1b4c0e-0000-4000-8000-000000000001',
            resource: patient('Transaction', {
              generalPractitioner: [
                { reference: 'Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|1234567893' },
              ],
            }),
            request: { method: 'POST', url: 'Patient' },
          },
          {
            resource: {
              resourceType: 'Encounter',
              status: 'finished',
              class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
              subject: { reference: 'urn:uuid:6f1b4c0e-0000-4000-8000-000000000001' },
            },
            request: { method: 'POST', url: 'Encounter' },
          },
        ],
      },
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.type, 'transaction-response');
    assert.deepEqual(
      res.body.entry.map((e: any) => e.response.status),
      ['201 Created', '201 Created'],
    );
    const patientId = res.body.entry[0].resource.id;
    assert.equal(res.body.entry[1].resource.subject.reference, `Patient/${patientId}`);
    assert.match(res.body.entry[0].resource.generalPractitioner[0].reference, /^Practitioner\/[\w-]+$/);
  });

  test('a failing transaction entry rolls back every entry', async () => {
    const before = (await fhirFetch(`${server.base}/Patient?family=Rollback`)).body.total;
    const res = await fhirFetch(server.base, {
      method: 'POST',
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: patient('Rollback'), request: { method: 'POST', url: 'Patient' } },
          {
            resource: { resourceType: 'Observation', status: 'not-a-status', code: { text: 'x' } },
            request: { method: 'POST', url: 'Observation' },
          },
        ],
      },
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.resourceType, 'OperationOutcome');
    assert.match(res.body.issue[0].diagnostics, /entry\[1\]/);
    assert.equal((await fhirFetch(`${server.base}/Patient?family=Rollback`)).body.total, before);
  });

  test('a batch runs each entry on its own and reports each outcome', async () => {
    const res = await fhirFetch(server.base, {
      method: 'POST',
      body: {
        resourceType: 'Bundle',
        type: 'batch',
        entry: [
          { resource: patient('Batch'), request: { method: 'POST', url: 'Patient' } },
          { request: { method: 'GET', url: 'Patient/does-not-exist' } },
          {
            resource: { resourceType: 'Patient', gender: 'nope' },
            request: { method: 'POST', url: 'Patient' },
          },
        ],
      },
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.type, 'batch-response');
    assert.deepEqual(
      res.body.entry.map((e: any) => e.response.status),
      ['201 Created', '404', '400'],
    );
    assert.equal(res.body.entry[1].response.outcome.resourceType, 'OperationOutcome');
  });
});

describe('Patient/$everything and metadata', () => {
  test('$everything returns the patient and the resources in their compartment', async () => {
    const { body: p } = await fhirFetch(`${server.base}/Patient`, {
      method: 'POST',
      body: patient('Everything'),
    });
    await fhirFetch(`${server.base}/Condition`, {
      method: 'POST',
      body: {
        resourceType: 'Condition',
        subject: { reference: `Patient/${p.id}` },
        code: { text: 'Hypertension' },
      },
    });
    await fhirFetch(`${server.base}/AllergyIntolerance`, {
      method: 'POST',
      body: {
        resourceType: 'AllergyIntolerance',
        clinicalStatus: {
          coding: [
            { system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' },
          ],
        },
        patient: { reference: `Patient/${p.id}` },
      },
    });
    const res = await fhirFetch(`${server.base}/Patient/${p.id}/$everything`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.entry.map((e: any) => e.resource.resourceType).sort(), [
      'AllergyIntolerance',
      'Condition',
      'Patient',
    ]);
  });

  test('the CapabilityStatement lists every resource type with its interactions and search parameters', async () => {
    const res = await fhirFetch(`${server.base}/metadata`);
    assert.equal(res.body.resourceType, 'CapabilityStatement');
    assert.equal(res.body.fhirVersion, '4.0.1');
    const types = res.body.rest[0].resource.map((r: any) => r.type);
    assert.ok(types.length >= 140, `${types.length} types`);
    const patientEntry = res.body.rest[0].resource.find((r: any) => r.type === 'Patient');
    assert.ok(patientEntry.searchParam.some((p: any) => p.name === 'birthdate' && p.type === 'date'));
    assert.ok(patientEntry.interaction.some((i: any) => i.code === 'vread'));
  });

  test('the CapabilityStatement is public and names SMART security with absolute OAuth URLs that work', async () => {
    const res = await fhirFetch(`${server.base}/metadata`, { headers: { authorization: '' } });
    assert.equal(res.status, 200);
    const security = res.body.rest[0].security;
    assert.equal(security.service[0].coding[0].code, 'SMART-on-FHIR');
    const uris = Object.fromEntries(
      security.extension[0].extension.map((e: any) => [e.url, e.valueUri]),
    ) as Record<string, string>;
    const origin = new URL(server.base).origin;
    assert.deepEqual(uris, {
      token: `${origin}/oauth/token`,
      authorize: `${origin}/oauth/authorize`,
      revoke: `${origin}/oauth/revoke`,
    });
    const config = (await fhirFetch(`${server.base}/.well-known/smart-configuration`)).body;
    assert.equal(uris.token, config.token_endpoint);
    assert.equal(uris.authorize, config.authorization_endpoint);
    // The token endpoint named there answers (a request without a client is refused as OAuth says).
    const token = await fetch(uris.token!, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    assert.equal(token.status, 401);
    assert.equal(((await token.json()) as { error: string }).error, 'invalid_client');
  });
});
