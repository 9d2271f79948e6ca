/**
 * What is ignored and what is refused: an unknown parameter is ignored (and reported) under lenient
 * handling, but a known parameter with a wrong modifier, or a malformed chain or `_has`, is a 400
 * whatever the handling. Also `_id:not`, ContactPoint tokens with their system, and the systems that
 * code elements' bindings imply.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fhirFetch, useTestServer } from '../../test/testServer.ts';

const server = useTestServer(async (server) => {
  const put = (r: any) => fhirFetch(`${server.base}/${r.resourceType}/${r.id}`, { method: 'PUT', body: r });
  await put({
    resourceType: 'Patient',
    id: 'mail',
    name: [{ family: 'Handler' }],
    telecom: [{ system: 'email', value: 'ada@example.org' }],
  });
  await put({
    resourceType: 'Patient',
    id: 'phone',
    name: [{ family: 'Handler' }],
    telecom: [{ system: 'phone', value: '555-0101' }],
  });
  await put({
    resourceType: 'Observation',
    id: 'obs',
    status: 'final',
    code: { text: 'x' },
    subject: { reference: 'Patient/mail' },
  });
});

const ids = (bundle: any) =>
  (bundle.entry ?? [])
    .filter((e: any) => e.search?.mode === 'match')
    .map((e: any) => e.resource.id)
    .sort();

test('an unknown parameter is ignored and reported under the default (lenient) handling', async () => {
  const res = await fhirFetch(`${server.base}/Patient?family=handler&nonsense=1`);
  assert.equal(res.status, 200);
  const body = res.body;
  assert.deepEqual(ids(body), ['mail', 'phone']);
  const outcome = body.entry.find((e: any) => e.search?.mode === 'outcome');
  assert.match(JSON.stringify(outcome.resource), /nonsense/);
});

test('a wrong modifier, a malformed chain or _has is a 400 naming it, even when lenient', async () => {
  for (const [query, named] of [
    ['Patient?family:foo=bar', /family:foo.*does not support the modifier :foo/],
    ['Patient?gender:contains=male', /gender:contains/],
    ['Observation?subject:Patient.bogus=1', /subject:Patient\.bogus/],
    ['Patient?_has:Observation:patient=1', /_has:Observation:patient.*must read _has:Type/],
    ['Patient?_id:exact=mail', /_id takes only the :not modifier/],
    ['Patient?_include:bogus=Patient:organization', /_include:bogus/],
  ] as const) {
    const res = await fhirFetch(`${server.base}/${query}`, { headers: { prefer: 'handling=lenient' } });
    assert.equal(res.status, 400, query);
    const outcome = res.body;
    assert.equal(outcome.resourceType, 'OperationOutcome');
    assert.match(outcome.issue[0].diagnostics, named, query);
  }
});

test('_id:not leaves those ids out', async () => {
  const res = await fhirFetch(`${server.base}/Patient?_id:not=mail`);
  assert.deepEqual(ids(res.body), ['phone']);
});

test('telecom tokens carry ContactPoint.system: email|address, phone|, or the value alone', async () => {
  for (const [value, expected] of [
    ['email|ada@example.org', ['mail']],
    ['phone|ada@example.org', []],
    ['phone|', ['phone']],
    ['ada@example.org', ['mail']],
    ['|555-0101', []],
  ] as const) {
    const res = await fhirFetch(`${server.base}/Patient?telecom=${encodeURIComponent(value)}`);
    assert.deepEqual(ids(res.body), expected, value);
  }
});

test('code elements answer to the system their binding implies, and to no other', async () => {
  const status = 'http://hl7.org/fhir/observation-status';
  for (const [value, expected] of [
    ['final', ['obs']],
    ['|final', ['obs']],
    [`${status}|final`, ['obs']],
    [`${status}|amended`, []],
    ['http://example.org/other|final', []],
    [`http://example.org/other|amended,${status}|final`, ['obs']],
  ] as const) {
    const res = await fhirFetch(`${server.base}/Observation?status=${encodeURIComponent(value)}`);
    assert.deepEqual(ids(res.body), expected, value);
  }
  const not = await fhirFetch(
    `${server.base}/Observation?status:not=${encodeURIComponent(`${status}|final`)}`,
  );
  assert.deepEqual(ids(not.body), []);
});

test('a date zone sent as an unencoded + (a space once decoded) is read as +', async () => {
  await fhirFetch(`${server.base}/Encounter/zoned`, {
    method: 'PUT',
    body: {
      resourceType: 'Encounter',
      id: 'zoned',
      status: 'finished',
      class: { code: 'AMB' },
      period: { start: '2021-03-05T10:00:00+02:00', end: '2021-03-05T10:30:00+02:00' },
    },
  });
  for (const [query, expected] of [
    ['date=ge2021-03-05T10:00:00+02:00', ['zoned']],
    ['date=ge2021-03-05T08:15:00+00:00&date=lt2021-03-05T10:00:00+01:00', ['zoned']],
    ['date=gt2021-03-05T10:30:00+02:00', []],
    ['_lastUpdated=ge2000-01-01T00:00:00+01:00', ['zoned']],
  ] as const) {
    const res = await fhirFetch(`${server.base}/Encounter?${query}`);
    assert.equal(res.status, 200, query);
    assert.deepEqual(ids(res.body), expected, query);
  }
});

test('_lastUpdated:missing: every resource has one', async () => {
  const present = await fhirFetch(`${server.base}/Patient?_lastUpdated:missing=false`);
  assert.deepEqual(ids(present.body), ['mail', 'phone']);
  const missing = await fhirFetch(`${server.base}/Patient?_lastUpdated:missing=true`);
  assert.deepEqual(ids(missing.body), []);
  const other = await fhirFetch(`${server.base}/Patient?_lastUpdated:exact=2021`);
  assert.equal(other.status, 400);
});

test('a number with an exponent has the precision the R4 example gives it (1e2 is 95 to 105)', async () => {
  for (const [id, value] of [
    ['p50', 50],
    ['p97', 97],
    ['p100', 100],
  ] as const) {
    await fhirFetch(`${server.base}/RiskAssessment/${id}`, {
      method: 'PUT',
      body: {
        resourceType: 'RiskAssessment',
        id,
        status: 'final',
        subject: { reference: 'Patient/mail' },
        prediction: [{ probabilityDecimal: value }],
      },
    });
  }
  for (const [value, expected] of [
    ['1e2', ['p100', 'p97']],
    ['100', ['p100']],
    ['1.00e2', ['p100']],
    ['5e1', ['p50']],
  ] as const) {
    const res = await fhirFetch(`${server.base}/RiskAssessment?probability=${value}`);
    assert.deepEqual(ids(res.body), expected, value);
  }
});

test('a reference without a type or id, and a quantity with more than three parts, are 400s', async () => {
  for (const query of [
    'Observation?subject=Patient/',
    'Observation?subject=/obs',
    'Observation?subject=patient/mail',
    'Observation?subject=Patient/mail/_history/',
    'Observation?value-quantity=5|http://unitsofmeasure.org|mg|extra',
  ]) {
    const res = await fhirFetch(`${server.base}/${query}`);
    assert.equal(res.status, 400, query);
    assert.equal(res.body.resourceType, 'OperationOutcome', query);
  }
  const fine = await fhirFetch(`${server.base}/Observation?subject=Patient/mail/_history/1`);
  assert.deepEqual(ids(fine.body), ['obs']);
});

test('a parameter with an empty value is ignored and reported, or refused under strict handling', async () => {
  const lenient = await fhirFetch(`${server.base}/Patient?name=&family=Handler`);
  assert.equal(lenient.status, 200, JSON.stringify(lenient.body));
  assert.deepEqual(ids(lenient.body), ['mail', 'phone']);
  const outcome = lenient.body.entry.find((e: any) => e.resource.resourceType === 'OperationOutcome');
  assert.match(JSON.stringify(outcome.resource), /name/);
  const strict = await fhirFetch(`${server.base}/Patient?name=&family=Handler`, {
    headers: { prefer: 'handling=strict' },
  });
  assert.equal(strict.status, 400);
  assert.match(JSON.stringify(strict.body), /name has an empty value/);
  // An empty value among several is still a mistake in the value.
  assert.equal((await fhirFetch(`${server.base}/Patient?name=a,,b`)).status, 400);
});
