/** What a search returns besides its matches: _include, _revinclude (:iterate), _summary and _elements. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fhirFetch, useTestServer } from '../../test/testServer.ts';

const SUBSETTED = (r: any) => r.meta?.tag?.some((t: any) => t.code === 'SUBSETTED');

const server = useTestServer(async (server) => {
  const put = (r: any) => fhirFetch(`${server.base}/${r.resourceType}/${r.id}`, { method: 'PUT', body: r });
  await put({ resourceType: 'Organization', id: 'org-1', name: 'Clinic' });
  await put({ resourceType: 'Practitioner', id: 'doc-1', name: [{ family: 'Reyes' }] });
  await put({
    resourceType: 'Patient',
    id: 'pat-1',
    name: [{ family: 'Includeson', given: ['Ida'] }],
    gender: 'female',
    birthDate: '1970-01-01',
    text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Ida Includeson</div>' },
    generalPractitioner: [{ reference: 'Practitioner/doc-1' }],
    managingOrganization: { reference: 'Organization/org-1' },
    maritalStatus: { text: 'married' },
  });
  for (const [id, code] of [
    ['c-1', '38341003'],
    ['c-2', '44054006'],
  ]) {
    await put({
      resourceType: 'Condition',
      id,
      subject: { reference: 'Patient/pat-1' },
      code: { coding: [{ system: 'http://snomed.info/sct', code }] },
    });
  }
  await put({
    resourceType: 'Encounter',
    id: 'enc-1',
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    subject: { reference: 'Patient/pat-1' },
    participant: [{ individual: { reference: 'Practitioner/doc-1' } }],
  });
});

const byMode = (bundle: any, mode: string) =>
  bundle.entry
    .filter((e: any) => e.search.mode === mode)
    .map((e: any) => `${e.resource.resourceType}/${e.resource.id}`)
    .sort();

test('_include adds the referenced patient once, as include', async () => {
  const res = await fhirFetch(`${server.base}/Condition?_include=Condition:subject`);
  assert.deepEqual(byMode(res.body, 'match'), ['Condition/c-1', 'Condition/c-2']);
  assert.deepEqual(byMode(res.body, 'include'), ['Patient/pat-1']);
  assert.equal(res.body.total, 2, 'includes do not count toward the total');
});

test('_include with a target type, and the * wildcard', async () => {
  const typed = await fhirFetch(`${server.base}/Encounter?_include=Encounter:participant:Practitioner`);
  assert.deepEqual(byMode(typed.body, 'include'), ['Practitioner/doc-1']);
  const wrongType = await fhirFetch(`${server.base}/Encounter?_include=Encounter:subject:Practitioner`);
  assert.equal(wrongType.status, 400);
  const all = await fhirFetch(`${server.base}/Patient?_id=pat-1&_include=*`);
  assert.deepEqual(byMode(all.body, 'include'), ['Organization/org-1', 'Practitioner/doc-1']);
});

test('_revinclude adds what refers to the matches; :iterate follows on from the included resources', async () => {
  const rev = await fhirFetch(`${server.base}/Patient?_id=pat-1&_revinclude=Condition:subject`);
  assert.deepEqual(byMode(rev.body, 'include'), ['Condition/c-1', 'Condition/c-2']);
  const flat = await fhirFetch(
    `${server.base}/Condition?_id=c-1&_include=Condition:subject&_include=Patient:general-practitioner`,
  );
  assert.deepEqual(
    byMode(flat.body, 'include'),
    ['Patient/pat-1'],
    'without :iterate the second hop is not taken',
  );
  const iterate = await fhirFetch(
    `${server.base}/Condition?_id=c-1&_include=Condition:subject&_include:iterate=Patient:general-practitioner`,
  );
  assert.deepEqual(byMode(iterate.body, 'include'), ['Patient/pat-1', 'Practitioner/doc-1']);
  const bad = await fhirFetch(`${server.base}/Condition?_include=Condition:nonsense`);
  assert.equal(bad.status, 400);
});

test('_revinclude=* adds everything that refers to the matches, of any type', async () => {
  const patient = await fhirFetch(`${server.base}/Patient?_id=pat-1&_revinclude=*`);
  assert.deepEqual(byMode(patient.body, 'include'), ['Condition/c-1', 'Condition/c-2', 'Encounter/enc-1']);
  const doctor = await fhirFetch(`${server.base}/Practitioner?_id=doc-1&_revinclude=*`);
  assert.deepEqual(byMode(doctor.body, 'include'), ['Encounter/enc-1', 'Patient/pat-1']);
});

test('_summary=true keeps the summary elements and tags the resource SUBSETTED', async () => {
  const res = await fhirFetch(`${server.base}/Patient?_id=pat-1&_summary=true`);
  const patient = res.body.entry[0].resource;
  assert.ok(SUBSETTED(patient));
  assert.deepEqual(patient.name, [{ family: 'Includeson', given: ['Ida'] }]);
  assert.equal(patient.birthDate, '1970-01-01');
  assert.equal(patient.text, undefined, 'narrative is not in the summary');
  assert.equal(patient.maritalStatus, undefined, 'maritalStatus is not a summary element');
  const full = await fhirFetch(`${server.base}/Patient/pat-1`);
  assert.ok(!SUBSETTED(full.body), 'a plain read is whole');
  assert.ok(full.body.maritalStatus);
});

test('_summary=count, data and text; _elements', async () => {
  const count = await fhirFetch(`${server.base}/Condition?_summary=count`);
  assert.equal(count.body.total, 2);
  assert.deepEqual(count.body.entry, []);
  const data = await fhirFetch(`${server.base}/Patient/pat-1?_summary=data`);
  assert.equal(data.body.text, undefined);
  assert.equal(data.body.maritalStatus.text, 'married');
  const text = await fhirFetch(`${server.base}/Patient/pat-1?_summary=text`);
  assert.ok(text.body.text.div.includes('Ida'));
  assert.equal(text.body.name, undefined);
  const elements = await fhirFetch(`${server.base}/Patient?_id=pat-1&_elements=birthDate,gender`);
  const p = elements.body.entry[0].resource;
  assert.deepEqual(Object.keys(p).sort(), ['birthDate', 'gender', 'id', 'meta', 'resourceType']);
  assert.ok(SUBSETTED(p));
  const bad = await fhirFetch(`${server.base}/Patient?_summary=maybe`);
  assert.equal(bad.status, 400);
});

test('_text searches the narrative and _content the whole resource, word by word', async () => {
  const ids = async (query: string) => {
    const res = await fhirFetch(`${server.base}/${query}`, { headers: { prefer: 'handling=strict' } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.entry.map((e: any) => `${e.resource.resourceType}/${e.resource.id}`).sort();
  };
  assert.deepEqual(await ids('Patient?_text=includeson'), ['Patient/pat-1']);
  assert.deepEqual(await ids('Patient?_text=IDA%20includeson'), ['Patient/pat-1'], 'every word, any case');
  assert.deepEqual(await ids('Patient?_text=ida%20reyes'), [], 'every word must occur');
  assert.deepEqual(await ids('Patient?_text=nobody,ida'), ['Patient/pat-1'], 'commas are alternatives');
  assert.deepEqual(await ids('Patient?_text=married'), [], 'marital status is not in the narrative');
  assert.deepEqual(await ids(`Patient?_content=${encodeURIComponent('MARRIÉD')}`), ['Patient/pat-1']);
  assert.deepEqual(await ids('Condition?_content=44054006'), ['Condition/c-2']);
  assert.deepEqual(await ids('Patient?_has:Condition:subject:_content=44054006'), ['Patient/pat-1']);
  assert.deepEqual(await ids('Condition?subject=Patient/pat-1&_content=38341003'), ['Condition/c-1']);
  for (const evil of ["' OR 1=1 --", '"; DROP TABLE resource; --', '%']) {
    assert.deepEqual(await ids(`Patient?_content=${encodeURIComponent(evil)}`), [], evil);
  }
  const modifier = await fhirFetch(`${server.base}/Patient?_text:exact=ida`, {
    headers: { prefer: 'handling=strict' },
  });
  assert.equal(modifier.status, 400);
});

test('_list finds the resources a List holds', async () => {
  const put = (r: any) => fhirFetch(`${server.base}/${r.resourceType}/${r.id}`, { method: 'PUT', body: r });
  await put({
    resourceType: 'List',
    id: 'problems',
    status: 'current',
    mode: 'working',
    entry: [{ item: { reference: 'Condition/c-2' } }, { item: { reference: 'Patient/pat-1' } }],
  });
  const conditions = await fhirFetch(`${server.base}/Condition?_list=problems`);
  assert.deepEqual(
    conditions.body.entry.map((e: any) => e.resource.id),
    ['c-2'],
  );
  const none = await fhirFetch(`${server.base}/Condition?_list=no-such-list`);
  assert.equal(none.body.total, 0);
  const functional = await fhirFetch(`${server.base}/Condition?_list=$current-problems`, {
    headers: { prefer: 'handling=strict' },
  });
  assert.equal(functional.status, 400);
});

test('a reference searched by an absolute URL on this server is the local resource; another server is not', async () => {
  const ids = async (query: string) =>
    byMode((await fhirFetch(`${server.base}/Condition?subject=${encodeURIComponent(query)}`)).body, 'match');
  assert.deepEqual(await ids(`${server.base}/Patient/pat-1`), ['Condition/c-1', 'Condition/c-2']);
  assert.deepEqual(await ids(`${server.base}/Patient/pat-1/_history/1`), ['Condition/c-1', 'Condition/c-2']);
  assert.deepEqual(await ids('http://elsewhere.example/fhir/Patient/pat-1'), []);
});

test('canonical references: the url finds every version, url|version that one; _include and _revinclude follow them', async () => {
  const put = (r: any) => fhirFetch(`${server.base}/${r.resourceType}/${r.id}`, { method: 'PUT', body: r });
  const url = 'http://example.org/Questionnaire/intake';
  await put({ resourceType: 'Questionnaire', id: 'intake', status: 'active', url, version: '2' });
  await put({ resourceType: 'QuestionnaireResponse', id: 'qr-any', status: 'completed', questionnaire: url });
  await put({
    resourceType: 'QuestionnaireResponse',
    id: 'qr-v2',
    status: 'completed',
    questionnaire: `${url}|2`,
  });
  await put({
    resourceType: 'QuestionnaireResponse',
    id: 'qr-v1',
    status: 'completed',
    questionnaire: `${url}|1`,
  });
  const search = async (query: string) => (await fhirFetch(`${server.base}/${query}`)).body;
  const q = encodeURIComponent;
  assert.deepEqual(byMode(await search(`QuestionnaireResponse?questionnaire=${q(url)}`), 'match'), [
    'QuestionnaireResponse/qr-any',
    'QuestionnaireResponse/qr-v1',
    'QuestionnaireResponse/qr-v2',
  ]);
  assert.deepEqual(byMode(await search(`QuestionnaireResponse?questionnaire=${q(`${url}|2`)}`), 'match'), [
    'QuestionnaireResponse/qr-v2',
  ]);
  const included = await search(
    'QuestionnaireResponse?_id=qr-any,qr-v2,qr-v1&_include=QuestionnaireResponse:questionnaire',
  );
  assert.deepEqual(byMode(included, 'include'), ['Questionnaire/intake'], 'version 1 is not stored');
  const wrongVersion = await search(
    'QuestionnaireResponse?_id=qr-v1&_include=QuestionnaireResponse:questionnaire',
  );
  assert.deepEqual(byMode(wrongVersion, 'include'), []);
  const revincluded = await search(
    'Questionnaire?_id=intake&_revinclude=QuestionnaireResponse:questionnaire',
  );
  assert.deepEqual(byMode(revincluded, 'include'), [
    'QuestionnaireResponse/qr-any',
    'QuestionnaireResponse/qr-v1',
    'QuestionnaireResponse/qr-v2',
  ]);
});
