/** Chained parameters (several levels) and reverse chaining with _has (nested), over real HTTP. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fhirFetch, useTestServer } from '../../test/testServer.ts';

const server = useTestServer(async (server) => {
  const put = (r: any) => fhirFetch(`${server.base}/${r.resourceType}/${r.id}`, { method: 'PUT', body: r });
  await put({ resourceType: 'Organization', id: 'north', name: 'North Clinic' });
  await put({ resourceType: 'Organization', id: 'south', name: 'South Clinic' });
  await put({
    resourceType: 'Patient',
    id: 'ann',
    name: [{ family: 'Ames' }],
    managingOrganization: { reference: 'Organization/north' },
  });
  await put({
    resourceType: 'Patient',
    id: 'bob',
    name: [{ family: 'Boyd' }],
    managingOrganization: { reference: 'Organization/south' },
  });
  await put({ resourceType: 'Location', id: 'loc', name: 'Ames Satellite' });
  const obs = (id: string, subject: string, code: string) => ({
    resourceType: 'Observation',
    id,
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code }] },
    subject: { reference: subject },
  });
  await put(obs('o1', 'Patient/ann', '4548-4'));
  await put(obs('o2', 'Patient/bob', '4548-4'));
  await put(obs('o3', 'Patient/bob', '2345-7'));
  await put(obs('o4', 'Location/loc', '4548-4'));
  await put({
    resourceType: 'DiagnosticReport',
    id: 'dr1',
    status: 'final',
    code: { text: 'panel' },
    subject: { reference: 'Patient/bob' },
    result: [{ reference: 'Observation/o3' }],
  });
});

const ids = async (path: string, init?: Parameters<typeof fhirFetch>[1]) => {
  const res = await fhirFetch(`${server.base}/${path}`, init);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.entry
    .filter((e: any) => e.search.mode === 'match')
    .map((e: any) => e.resource.id)
    .sort();
};

test('one-level chains, with and without a type modifier', async () => {
  assert.deepEqual(await ids('Observation?subject:Patient.name=ames'), ['o1']);
  assert.deepEqual(await ids('Observation?patient.family=boyd'), ['o2', 'o3']);
  // Without a type, every target type that has the parameter is searched: the Location named Ames too.
  assert.deepEqual(await ids('Observation?subject.name=ames'), ['o1', 'o4']);
  assert.deepEqual(await ids('Observation?subject:Patient.name=ames&code=4548-4'), ['o1']);
});

test('two-level chains', async () => {
  assert.deepEqual(await ids('Observation?subject:Patient.organization.name=south'), ['o2', 'o3']);
  assert.deepEqual(await ids('DiagnosticReport?result.subject:Patient.organization.name=south'), ['dr1']);
  assert.deepEqual(await ids('Observation?subject:Patient.organization.name=nowhere'), []);
});

test('_has, and _has nested in _has', async () => {
  assert.deepEqual(await ids('Patient?_has:Observation:patient:code=2345-7'), ['bob']);
  assert.deepEqual(await ids('Patient?_has:Observation:patient:code=4548-4'), ['ann', 'bob']);
  assert.deepEqual(await ids('Patient?_has:Observation:subject:_has:DiagnosticReport:result:status=final'), [
    'bob',
  ]);
  assert.deepEqual(await ids('Organization?_has:Patient:organization:_has:Observation:patient:code=2345-7'), [
    'south',
  ]);
});

test('_has at the end of a chain', async () => {
  // Observations about a patient whom some DiagnosticReport is about.
  assert.deepEqual(await ids('Observation?subject:Patient._has:DiagnosticReport:subject:status=final'), [
    'o2',
    'o3',
  ]);
  assert.deepEqual(await ids('Observation?subject._has:DiagnosticReport:subject:status=final'), ['o2', 'o3']);
  assert.deepEqual(await ids('Observation?subject:Patient._has:DiagnosticReport:subject:status=amended'), []);
});

test('a chain follows a canonical reference (with or without a version) to the resource with that url', async () => {
  const put = (r: any) => fhirFetch(`${server.base}/${r.resourceType}/${r.id}`, { method: 'PUT', body: r });
  const url = 'http://example.org/Questionnaire/phq';
  await put({ resourceType: 'Questionnaire', id: 'phq', status: 'active', url, version: '1', title: 'PHQ' });
  await put({
    resourceType: 'Questionnaire',
    id: 'old',
    status: 'retired',
    url: 'http://example.org/Questionnaire/old',
  });
  await put({ resourceType: 'QuestionnaireResponse', id: 'qr-url', status: 'completed', questionnaire: url });
  await put({
    resourceType: 'QuestionnaireResponse',
    id: 'qr-ver',
    status: 'completed',
    questionnaire: `${url}|1`,
  });
  await put({
    resourceType: 'QuestionnaireResponse',
    id: 'qr-id',
    status: 'completed',
    questionnaire: 'Questionnaire/phq',
  });
  await put({
    resourceType: 'QuestionnaireResponse',
    id: 'qr-old',
    status: 'completed',
    questionnaire: 'http://example.org/Questionnaire/old',
  });
  assert.deepEqual(await ids('QuestionnaireResponse?questionnaire.status=active'), [
    'qr-id',
    'qr-url',
    'qr-ver',
  ]);
  assert.deepEqual(await ids('QuestionnaireResponse?questionnaire:Questionnaire.title=phq'), [
    'qr-id',
    'qr-url',
    'qr-ver',
  ]);
  assert.deepEqual(await ids('QuestionnaireResponse?questionnaire.status=retired'), ['qr-old']);
});

test('malformed chains are refused clearly under strict handling', async () => {
  const notReference = await fhirFetch(`${server.base}/Observation?status.name=x`, {
    headers: { prefer: 'handling=strict' },
  });
  assert.equal(notReference.status, 400);
  assert.match(notReference.body.issue[0].diagnostics, /not a reference parameter/);
  const badHas = await fhirFetch(`${server.base}/Patient?_has:Observation:code=1`, {
    headers: { prefer: 'handling=strict' },
  });
  assert.equal(badHas.status, 400);
  assert.match(badHas.body.issue[0].diagnostics, /_has:Type:reference-parameter:parameter/);
  const injection = await ids(`Observation?subject:Patient.name=${encodeURIComponent("' OR 1=1 --")}`);
  assert.deepEqual(injection, []);
});

test("a reference written as an absolute URL on this server is stored relative: searched, chained and reverse-chained like any local one; another server's stays absolute", async () => {
  const write = async (r: any, method = 'PUT') => {
    const url =
      method === 'PUT' ? `${server.base}/${r.resourceType}/${r.id}` : `${server.base}/${r.resourceType}`;
    const res = await fhirFetch(url, { method, body: r });
    assert.ok(res.status === 200 || res.status === 201, JSON.stringify(res.body));
    return res.body;
  };
  const stored = await write({
    resourceType: 'Observation',
    id: 'abs1',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
    subject: { reference: `${server.base}/Patient/ann` },
    hasMember: [{ reference: `${server.base}/Observation/o1/_history/1` }],
    derivedFrom: [{ reference: 'http://other.example.org/fhir/Observation/o1' }],
  });
  assert.equal(stored.subject.reference, 'Patient/ann');
  assert.equal(stored.hasMember[0].reference, 'Observation/o1/_history/1');
  assert.equal(stored.derivedFrom[0].reference, 'http://other.example.org/fhir/Observation/o1');
  assert.deepEqual(await ids('Observation?subject=Patient/ann&code=8867-4'), ['abs1']);
  assert.deepEqual(await ids('Observation?subject:Patient.name=Ames&code=8867-4'), ['abs1']);
  assert.deepEqual(await ids('Patient?_has:Observation:subject:code=8867-4'), ['ann']);
  assert.deepEqual(await ids('Observation?derived-from=http://other.example.org/fhir/Observation/o1'), [
    'abs1',
  ]);
  // The same in a transaction.
  const tx = await fhirFetch(server.base, {
    method: 'POST',
    body: {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: {
            resourceType: 'Observation',
            status: 'final',
            code: { coding: [{ system: 'http://loinc.org', code: '8310-5' }] },
            subject: { reference: `${server.base}/Patient/bob` },
          },
          request: { method: 'POST', url: 'Observation' },
        },
      ],
    },
  });
  assert.equal(tx.status, 200, JSON.stringify(tx.body));
  assert.equal((await ids('Observation?subject=bob&code=8310-5')).length, 1);
});
