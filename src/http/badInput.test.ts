/**
 * A user's mistake always gets a 4xx OperationOutcome that says what is wrong, never a 500, and the
 * server keeps serving afterwards.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fhirFetch, useTestServer } from '../../test/testServer.ts';

const server = useTestServer();

async function expectOutcome(
  path: string,
  init: Parameters<typeof fhirFetch>[1],
  status: number | number[],
  pattern?: RegExp,
): Promise<void> {
  const res = await fhirFetch(`${server.base}${path}`, init);
  const allowed = Array.isArray(status) ? status : [status];
  assert.ok(
    allowed.includes(res.status),
    `${init?.method ?? 'GET'} ${path}: status ${res.status}, expected ${allowed.join('/')}: ${JSON.stringify(res.body)?.slice(0, 300)}`,
  );
  assert.equal(res.body?.resourceType, 'OperationOutcome');
  assert.match(res.headers.get('content-type') ?? '', /application\/fhir\+json/);
  const text = JSON.stringify(res.body);
  assert.doesNotMatch(text, /at \S+\.(ts|js):\d+/, 'no stack trace');
  if (pattern) assert.match(text, pattern);
}

test('malformed JSON, empty bodies and wrong content types', async () => {
  await expectOutcome(
    '/Patient',
    {
      method: 'POST',
      rawBody: '{"resourceType": "Patient",',
      headers: { 'content-type': 'application/fhir+json' },
    },
    400,
    /not valid JSON/,
  );
  await expectOutcome(
    '/Patient',
    { method: 'POST', rawBody: '', headers: { 'content-type': 'application/fhir+json' } },
    400,
  );
  await expectOutcome(
    '/Patient',
    { method: 'POST', rawBody: 'resourceType=Patient', headers: { 'content-type': 'text/plain' } },
    415,
    /Content-Type/,
  );
  await expectOutcome(
    '/Patient',
    {
      method: 'POST',
      rawBody: '<Patient xmlns="http://hl7.org/fhir"/>',
      headers: { 'content-type': 'application/fhir+xml' },
    },
    415,
  );
  await expectOutcome(
    '/Patient',
    { method: 'POST', rawBody: '[]', headers: { 'content-type': 'application/fhir+json' } },
    400,
  );
  await expectOutcome(
    '/Patient',
    { method: 'POST', rawBody: '"Patient"', headers: { 'content-type': 'application/json' } },
    400,
  );
  await expectOutcome('/Patient?_format=xml', {}, 406);
});

test('unknown resource types, and ids with path tricks', async () => {
  await expectOutcome('/Patientt', {}, 404, /not a FHIR R4 resource type/);
  await expectOutcome('/Patientt', { method: 'POST', body: { resourceType: 'Patientt' } }, 404);
  await expectOutcome(
    '/Patient',
    { method: 'POST', body: { resourceType: 'Observation', status: 'final', code: { text: 'x' } } },
    400,
    /expects Patient/,
  );
  await expectOutcome('/Patient', { method: 'POST', body: { resourceType: 'Nonsense' } }, 400);
  for (const id of [
    '..%2F..%2Fetc%2Fpasswd',
    '%2e%2e%2fmetadata',
    'a%00b',
    'x'.repeat(65),
    'has%20space',
    "1'%20OR%20'1'='1",
  ]) {
    const res = await fhirFetch(`${server.base}/Patient/${id}`);
    assert.ok([400, 404].includes(res.status), `id ${id}: ${res.status}`);
    assert.equal(res.body.resourceType, 'OperationOutcome');
  }
  await expectOutcome(
    '/Patient/..%2Fmetadata',
    { method: 'PUT', body: { resourceType: 'Patient', id: '../metadata' } },
    400,
  );
  await expectOutcome('/Patient/%E0%A4%A', {}, 400, /percent-encoding/);
  await expectOutcome('/Patient/abc/_history/not-a-number', {}, 404);
  await expectOutcome('/nothing/here/at/all/really', {}, [400, 404]);
  const notFhir = await fhirFetch(`${server.base.replace('/fhir', '')}/admin`);
  assert.equal(notFhir.status, 404);
  assert.equal(notFhir.body.resourceType, 'OperationOutcome');
});

test('bodies over the size limit (10 MB+) and 1,000-level nesting', async () => {
  const huge = JSON.stringify({
    resourceType: 'Patient',
    text: {
      status: 'generated',
      div: `<div xmlns="http://www.w3.org/1999/xhtml">${'x'.repeat(11 * 1024 * 1024)}</div>`,
    },
  });
  await expectOutcome(
    '/Patient',
    { method: 'POST', rawBody: huge, headers: { 'content-type': 'application/fhir+json' } },
    413,
    /larger than/,
  );
  const deep =
    '{"resourceType":"Patient","extension":[' +
    '{"url":"http://x","extension":['.repeat(1000) +
    ']}'.repeat(1000) +
    ']}';
  await expectOutcome(
    '/Patient',
    { method: 'POST', rawBody: deep, headers: { 'content-type': 'application/fhir+json' } },
    400,
    /nests deeper/,
  );
  const deepArrays = '['.repeat(1000) + ']'.repeat(1000);
  await expectOutcome(
    '/Patient',
    { method: 'POST', rawBody: deepArrays, headers: { 'content-type': 'application/fhir+json' } },
    400,
  );
});

test('invalid dates and wrong types in every position are named by their FHIRPath', async () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ birthDate: '2021-02-30' }, /Patient\.birthDate/],
    [{ birthDate: '12/03/1980' }, /Patient\.birthDate/],
    [{ birthDate: 19800312 }, /Patient\.birthDate/],
    [{ active: 'yes' }, /Patient\.active/],
    [{ gender: 'f' }, /Patient\.gender/],
    [{ name: { family: 'NotAnArray' } }, /Patient\.name/],
    [{ name: [{ family: ['Array', 'Where', 'One'] }] }, /Patient\.name\[0\]\.family/],
    [{ name: [{ given: 'NotAnArray' }] }, /Patient\.name\[0\]\.given/],
    [{ telecom: [{ system: 'pager-ish', value: '1' }] }, /Patient\.telecom\[0\]\.system/],
    [{ multipleBirthInteger: 1.5 }, /Patient\.multipleBirthInteger/],
    [{ deceasedDateTime: '2021-13-01T00:00:00Z' }, /Patient\.deceasedDateTime/],
    [{ unknownElement: true }, /Patient\.unknownElement/],
    [{ name: [{}] }, /Patient\.name\[0\]/],
    [{ identifier: [{ system: 'urn:x', value: '' }] }, /Patient\.identifier\[0\]\.value/],
    [{ meta: { lastUpdated: '2021-01-01' } }, /Patient\.meta\.lastUpdated/],
    [{ contact: [{ gender: 'male' }] }, /Patient\.contact\[0\]/],
  ];
  for (const [fields, where] of cases) {
    await expectOutcome(
      '/Patient',
      { method: 'POST', body: { resourceType: 'Patient', ...fields } },
      [400, 422],
      where,
    );
  }
  await expectOutcome(
    '/Observation',
    { method: 'POST', body: { resourceType: 'Observation', code: { text: 'x' } } },
    [400, 422],
    /Observation\.status/,
  );
  await expectOutcome(
    '/Observation',
    {
      method: 'POST',
      body: {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'x' },
        valueQuantity: { value: 'high' },
      },
    },
    [400, 422],
    /Observation\.valueQuantity\.value/,
  );
});

test('bad search values, history parameters and bundles', async () => {
  await expectOutcome('/Patient?birthdate=not-a-date', {}, 400, /not-a-date/);
  await expectOutcome('/Patient?birthdate=xx2020', {}, 400);
  await expectOutcome('/Patient?_count=ten', {}, 400, /_count/);
  await expectOutcome('/Patient?_sort=nonsense', {}, 400, /nonsense/);
  await expectOutcome('/Observation?value-quantity=abc', {}, 400, /not a number/);
  await expectOutcome(
    '/Patient?gender:unknownmodifier=female',
    { headers: { prefer: 'handling=strict' } },
    400,
  );
  await expectOutcome('/Patient/_history?_since=yesterday', {}, 400, /_since/);
  await expectOutcome(
    '',
    { method: 'POST', body: { resourceType: 'Bundle', type: 'collection' } },
    400,
    /batch or transaction/,
  );
  await expectOutcome(
    '',
    {
      method: 'POST',
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [{ request: { method: 'FETCH', url: 'Patient' } }],
      },
    },
    400,
  );
  await expectOutcome(
    '',
    { method: 'POST', body: { resourceType: 'Bundle', type: 'transaction', entry: 'nope' } },
    400,
  );
  await expectOutcome('/Patient', { method: 'PATCH', body: {} }, 405);
});

test('injection strings through search parameters are data, not SQL', async () => {
  const evil = [
    "' OR 1=1 --",
    '"; DROP TABLE resource; --',
    '%',
    '_',
    '\\',
    "Robert'); DELETE FROM resource_version;--",
  ];
  await fhirFetch(`${server.base}/Patient`, {
    method: 'POST',
    body: { resourceType: 'Patient', name: [{ family: 'Innocent' }] },
  });
  for (const value of evil) {
    for (const param of [
      'family',
      'name:contains',
      'name:exact',
      'identifier',
      'gender',
      '_id',
      'general-practitioner',
      'birthdate',
    ]) {
      const res = await fhirFetch(`${server.base}/Patient?${param}=${encodeURIComponent(value)}`);
      assert.ok(res.status === 200 || res.status === 400, `${param}=${value}: ${res.status}`);
      if (res.status === 200) assert.equal(res.body.total, 0, `${param}=${value} matched something`);
    }
  }
  const all = await fhirFetch(`${server.base}/Patient?family=Innocent`);
  assert.equal(all.body.total, 1, 'the data is intact');
});

test('after all of that the server still serves', async () => {
  const res = await fhirFetch(`${server.base}/metadata`);
  assert.equal(res.status, 200);
});
