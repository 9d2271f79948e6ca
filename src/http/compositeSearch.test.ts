/**
 * Composite parameters, Range and SampledData values, UCUM units, and the modifiers :identifier,
 * :of-type, :above / :below on tokens, over real HTTP.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fhirFetch, useTestServer } from '../../test/testServer.ts';

const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
const coded = (code: string, system = LOINC) => ({ coding: [{ system, code }] });
const mmHg = (value: number) => ({ value, unit: 'mmHg', system: UCUM, code: 'mm[Hg]' });

const server = useTestServer(async (server) => {
  const put = async (r: any) => {
    const res = await fhirFetch(`${server.base}/${r.resourceType}/${r.id}`, { method: 'PUT', body: r });
    assert.ok(res.status < 300, JSON.stringify(res.body));
  };
  const bloodPressure = (id: string, systolic: number, diastolic: number) => ({
    resourceType: 'Observation',
    id,
    status: 'final',
    subject: { reference: 'Patient/p1' },
    code: coded('85354-9'),
    component: [
      { code: coded('8480-6'), valueQuantity: mmHg(systolic) },
      { code: coded('8462-4'), valueQuantity: mmHg(diastolic) },
    ],
  });
  // bp-high: systolic 150 over 70; bp-crossed: systolic 95 with a diastolic of 150. A search for
  // "systolic above 140" must find only bp-high, although bp-crossed has both the code and a value.
  await put(bloodPressure('bp-high', 150, 70));
  await put(bloodPressure('bp-crossed', 95, 150));
  await put({
    resourceType: 'Observation',
    id: 'glucose',
    status: 'final',
    code: coded('2345-7'),
    valueQuantity: { value: 5.4, unit: 'mmol/L', system: UCUM, code: 'mmol/L' },
  });
  await put({
    resourceType: 'Observation',
    id: 'smoking',
    status: 'final',
    code: coded('72166-2'),
    valueCodeableConcept: coded('8517006', 'http://snomed.info/sct'),
  });
  await put({
    resourceType: 'Observation',
    id: 'onset',
    status: 'final',
    code: coded('11368-8'),
    valueDateTime: '2021-03-04',
  });
  await put({
    resourceType: 'Observation',
    id: 'note',
    status: 'final',
    code: coded('8251-1'),
    valueString: 'Feels well',
  });
  await put({
    resourceType: 'Observation',
    id: 'ecg',
    status: 'final',
    code: coded('131328'),
    valueSampledData: {
      origin: { value: 0, unit: 'mV', system: UCUM, code: 'mV' },
      period: 10,
      dimensions: 1,
      factor: 0.1,
      data: '2 5 12 -3',
    },
  });
  await put({
    resourceType: 'Observation',
    id: 'weight',
    status: 'final',
    code: coded('29463-7'),
    valueQuantity: { value: 150, unit: 'lb', system: UCUM, code: '[lb_av]' },
  });
  await put({
    resourceType: 'Observation',
    id: 'temperature',
    status: 'final',
    code: coded('8310-5'),
    valueQuantity: { value: 37.2, unit: 'C', system: UCUM, code: 'Cel' },
  });
  await put({
    resourceType: 'RiskAssessment',
    id: 'risk-range',
    status: 'final',
    subject: { reference: 'Patient/p1' },
    prediction: [{ probabilityRange: { low: { value: 0.2 }, high: { value: 0.4 } } }],
  });
  await put({
    resourceType: 'RiskAssessment',
    id: 'risk-point',
    status: 'final',
    subject: { reference: 'Patient/p1' },
    prediction: [{ probabilityDecimal: 0.9 }],
  });
  await put({
    resourceType: 'Condition',
    id: 'childhood',
    subject: { reference: 'Patient/p1' },
    onsetRange: {
      low: { value: 5, unit: 'a', system: UCUM, code: 'a' },
      high: { value: 10, unit: 'a', system: UCUM, code: 'a' },
    },
  });
  await put({
    resourceType: 'Patient',
    id: 'p1',
    identifier: [
      {
        type: coded('MR', 'http://terminology.hl7.org/CodeSystem/v2-0203'),
        system: 'urn:oid:1.2.36.146.595.217.0.1',
        value: '12345',
      },
      { type: coded('DL', 'http://terminology.hl7.org/CodeSystem/v2-0203'), system: 'urn:dl', value: '777' },
    ],
  });
  await put({
    resourceType: 'Encounter',
    id: 'enc-by-identifier',
    status: 'finished',
    class: { code: 'AMB' },
    subject: { identifier: { system: 'urn:oid:1.2.36.146.595.217.0.1', value: '12345' } },
  });
  await put({
    resourceType: 'DocumentReference',
    id: 'scan',
    status: 'current',
    content: [{ attachment: { contentType: 'image/png' } }],
    relatesTo: [{ code: 'replaces', target: { reference: 'DocumentReference/old-scan' } }],
  });
  await put({
    resourceType: 'DocumentReference',
    id: 'letter',
    status: 'current',
    content: [{ attachment: { contentType: 'text/plain' } }],
  });
});

const ids = async (path: string) => {
  const res = await fhirFetch(`${server.base}/${path}`, { headers: { prefer: 'handling=strict' } });
  assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
  return res.body.entry.map((e: any) => e.resource.id).sort();
};
const q = encodeURIComponent;

test('component-code-value-quantity matches code and value within the same component', async () => {
  assert.deepEqual(await ids(`Observation?component-code-value-quantity=${q(`${LOINC}|8480-6$gt140`)}`), [
    'bp-high',
  ]);
  assert.deepEqual(await ids(`Observation?component-code-value-quantity=${q('8480-6$lt100')}`), [
    'bp-crossed',
  ]);
  assert.deepEqual(await ids(`Observation?component-code-value-quantity=${q('8462-4$gt140')}`), [
    'bp-crossed',
  ]);
  // With units: the component's own quantity syntax, number|system|code.
  assert.deepEqual(await ids(`Observation?component-code-value-quantity=${q(`8480-6$150|${UCUM}|mm[Hg]`)}`), [
    'bp-high',
  ]);
  assert.deepEqual(await ids(`Observation?component-code-value-quantity=${q(`8480-6$150|${UCUM}|mg`)}`), []);
  // Several values are ORed; repeated parameters are ANDed.
  assert.deepEqual(await ids(`Observation?component-code-value-quantity=${q('8480-6$gt140,8480-6$lt100')}`), [
    'bp-crossed',
    'bp-high',
  ]);
  assert.deepEqual(
    await ids(
      `Observation?component-code-value-quantity=${q('8480-6$gt140')}&component-code-value-quantity=${q('8462-4$lt80')}`,
    ),
    ['bp-high'],
  );
});

test('code-value-quantity, -concept, -date and -string on the Observation itself; combo covers both', async () => {
  assert.deepEqual(await ids(`Observation?code-value-quantity=${q(`${LOINC}|2345-7$ge5.4`)}`), ['glucose']);
  assert.deepEqual(await ids(`Observation?code-value-quantity=${q('2345-7$lt5')}`), []);
  assert.deepEqual(
    await ids(`Observation?code-value-quantity=${q('85354-9$gt0')}`),
    [],
    'a panel has no value',
  );
  assert.deepEqual(
    await ids(`Observation?code-value-concept=${q('72166-2$http://snomed.info/sct|8517006')}`),
    ['smoking'],
  );
  assert.deepEqual(await ids(`Observation?code-value-concept=${q('72166-2$1234')}`), []);
  assert.deepEqual(await ids(`Observation?code-value-date=${q('11368-8$2021-03')}`), ['onset']);
  assert.deepEqual(await ids(`Observation?code-value-date=${q('11368-8$gt2021-04')}`), []);
  assert.deepEqual(await ids(`Observation?code-value-string=${q('8251-1$feels')}`), ['note']);
  assert.deepEqual(await ids(`Observation?combo-code-value-quantity=${q('8480-6$gt140')}`), ['bp-high']);
  assert.deepEqual(await ids(`Observation?combo-code-value-quantity=${q('2345-7$5.4')}`), ['glucose']);
});

test('composites: a \\$ in a value is literal; a wrong number of parts, a modifier or a bad value is a 400', async () => {
  const wrongCount = await fhirFetch(`${server.base}/Observation?code-value-quantity=${q('2345-7')}`);
  assert.equal(wrongCount.status, 400);
  assert.match(wrongCount.body.issue[0].diagnostics, /code-value-quantity.*\$/);
  const badNumber = await fhirFetch(`${server.base}/Observation?code-value-quantity=${q('2345-7$gtabc')}`);
  assert.equal(badNumber.status, 400);
  const modifier = await fhirFetch(`${server.base}/Observation?code-value-quantity:exact=${q('2345-7$1')}`, {
    headers: { prefer: 'handling=strict' },
  });
  assert.equal(modifier.status, 400);
  assert.deepEqual(await ids(`Observation?code-value-string=${q('8251-1$a\\$b')}`), []);
});

test('composites: :missing, and injection strings in each component are data', async () => {
  assert.deepEqual(await ids('Observation?code-value-quantity:missing=false'), [
    'glucose',
    'temperature',
    'weight',
  ]);
  assert.deepEqual(await ids('Observation?component-code-value-quantity:missing=false'), [
    'bp-crossed',
    'bp-high',
  ]);
  assert.ok((await ids('Observation?component-code-value-quantity:missing=true')).includes('glucose'));
  for (const evil of ["' OR 1=1 --", '"; DROP TABLE resource; --']) {
    const res = await fhirFetch(`${server.base}/Observation?code-value-string=${q(`${evil}$${evil}`)}`);
    assert.equal(res.status, 200);
    assert.equal(res.body.total, 0);
  }
  assert.equal((await ids('Observation')).length, 9, 'the data is intact');
});

test('composites as the last link of a chain and inside _has', async () => {
  assert.deepEqual(
    await ids(`Patient?_has:Observation:subject:component-code-value-quantity=${q('8480-6$gt140')}`),
    ['p1'],
  );
  assert.deepEqual(
    await ids(`Patient?_has:Observation:subject:component-code-value-quantity=${q('8480-6$gt200')}`),
    [],
  );
  assert.deepEqual(await ids(`Encounter?subject:identifier=12345&_id=enc-by-identifier`), [
    'enc-by-identifier',
  ]);
  const sorted = await fhirFetch(`${server.base}/Observation?_sort=code-value-quantity`);
  assert.equal(sorted.status, 400);
});

test('DocumentReference relationship composite (reference and relation type)', async () => {
  assert.deepEqual(await ids(`DocumentReference?relationship=${q('DocumentReference/old-scan$replaces')}`), [
    'scan',
  ]);
  assert.deepEqual(
    await ids(`DocumentReference?relationship=${q('DocumentReference/old-scan$appends')}`),
    [],
  );
});

test('Range and SampledData values are searched as the ranges they are', async () => {
  // The probability range [0.2, 0.4] against numbers.
  assert.deepEqual(await ids('RiskAssessment?probability=gt0.3'), ['risk-point', 'risk-range']);
  assert.deepEqual(await ids('RiskAssessment?probability=gt0.5'), ['risk-point']);
  assert.deepEqual(await ids('RiskAssessment?probability=lt0.3'), ['risk-range']);
  assert.deepEqual(await ids('RiskAssessment?probability=sa0.1'), ['risk-point', 'risk-range']);
  assert.deepEqual(
    await ids('RiskAssessment?probability=sa0.3'),
    ['risk-point'],
    'the range starts below 0.3',
  );
  assert.deepEqual(await ids('RiskAssessment?probability=eb0.5'), ['risk-range']);
  assert.deepEqual(await ids('RiskAssessment?probability=0.3'), [], 'eq needs the range inside [0.25, 0.35)');
  assert.deepEqual(await ids('RiskAssessment?probability=ap0.3'), ['risk-range']);
  // Age range 5-10 years.
  assert.deepEqual(await ids(`Condition?onset-age=${q(`gt8|${UCUM}|a`)}`), ['childhood']);
  assert.deepEqual(await ids(`Condition?onset-age=${q(`gt12|${UCUM}|a`)}`), []);
  // The ECG samples span [-0.3, 1.2] mV.
  assert.deepEqual(await ids(`Observation?value-quantity=${q('gt1|http://unitsofmeasure.org|mV')}`), ['ecg']);
  assert.deepEqual(await ids(`Observation?value-quantity=${q('lt-0.2||mV')}`), ['ecg']);
  assert.deepEqual(await ids(`Observation?value-quantity=${q('gt1.5||mV')}`), []);
});

test(':identifier matches Reference.identifier', async () => {
  assert.deepEqual(await ids(`Encounter?subject:identifier=${q('urn:oid:1.2.36.146.595.217.0.1|12345')}`), [
    'enc-by-identifier',
  ]);
  assert.deepEqual(await ids(`Encounter?subject:identifier=12345`), ['enc-by-identifier']);
  assert.deepEqual(await ids(`Encounter?subject:identifier=${q('urn:other|12345')}`), []);
  assert.deepEqual(await ids('Encounter?subject=Patient/p1'), [], 'no literal reference');
  assert.deepEqual(
    await ids('Encounter?subject:missing=false'),
    ['enc-by-identifier'],
    'an identifier is a value',
  );
  assert.deepEqual(await ids('Encounter?subject:missing=true'), []);
});

test(':of-type matches identifier type and value within one identifier', async () => {
  const mr = 'http://terminology.hl7.org/CodeSystem/v2-0203|MR';
  assert.deepEqual(await ids(`Patient?identifier:of-type=${q(`${mr}|12345`)}`), ['p1']);
  assert.deepEqual(await ids(`Patient?identifier:of-type=${q(`${mr}|777`)}`), [], 'that value is a DL');
  assert.deepEqual(await ids(`Patient?identifier:of-type=${q('|DL|777')}`), ['p1']);
  const bad = await fhirFetch(`${server.base}/Patient?identifier:of-type=${q('MR|12345')}`);
  assert.equal(bad.status, 400);
});

test(':below and :above on tokens relate codes by / segments (MIME types), and keep exact matches', async () => {
  assert.deepEqual(await ids('DocumentReference?contenttype:below=image'), ['scan']);
  assert.deepEqual(await ids('DocumentReference?contenttype:below=image/png'), ['scan']);
  assert.deepEqual(await ids(`DocumentReference?contenttype:below=${q('image/p')}`), []);
  assert.deepEqual(await ids(`DocumentReference?contenttype=image`), []);
  assert.deepEqual(await ids(`Observation?code:below=${q(`${LOINC}|2345-7`)}`), ['glucose']);
  assert.deepEqual(await ids(`Observation?code:above=${q(`${LOINC}|2345-7`)}`), ['glucose']);
});

test('the CapabilityStatement lists the composite parameters', async () => {
  const res = await fhirFetch(`${server.base}/metadata`);
  const observation = res.body.rest[0].resource.find((r: any) => r.type === 'Observation');
  for (const name of ['code-value-quantity', 'component-code-value-quantity', 'combo-code-value-concept']) {
    assert.ok(
      observation.searchParam.some((p: any) => p.name === name && p.type === 'composite'),
      name,
    );
  }
});

test('injection strings through :identifier, :of-type, :below and composite components are data', async () => {
  for (const evil of ["' OR 1=1 --", '"; DROP TABLE resource; --', "x') OR ('1'='1"]) {
    for (const query of [
      `Encounter?subject:identifier=${q(evil)}`,
      `Patient?identifier:of-type=${q(`${evil}|${evil}|${evil}`)}`,
      `DocumentReference?contenttype:below=${q(evil)}`,
      `DocumentReference?contenttype:above=${q(evil)}`,
      `Observation?component-code-value-quantity=${q(`${evil}$gt1`)}`,
      `DocumentReference?relationship=${q(`${evil}$${evil}`)}`,
    ]) {
      const res = await fhirFetch(`${server.base}/${query}`);
      assert.ok(res.status === 200 || res.status === 400, `${query}: ${res.status}`);
      if (res.status === 200) assert.equal(res.body.total, 0, `${query} matched something`);
    }
  }
  assert.equal((await ids('Observation')).length, 9, 'the data is intact');
});

test('UCUM quantities compare across units of one dimension; other units by their code', async () => {
  const ucum = (value: string, code: string) => q(`${value}|${UCUM}|${code}`);
  // 150 [lb_av] is 68.04 kg.
  assert.deepEqual(await ids(`Observation?value-quantity=${ucum('gt60', 'kg')}`), ['weight']);
  assert.deepEqual(await ids(`Observation?value-quantity=${ucum('lt60', 'kg')}`), []);
  assert.deepEqual(await ids(`Observation?value-quantity=${ucum('ap68', 'kg')}`), ['weight']);
  assert.deepEqual(await ids(`Observation?value-quantity=${ucum('150', '[lb_av]')}`), ['weight']);
  // 5.4 mmol/L is 5400 umol/L (eq covers [5399.5, 5400.5) umol/L).
  assert.deepEqual(await ids(`Observation?value-quantity=${ucum('5400', 'umol/L')}`), ['glucose']);
  assert.deepEqual(await ids(`Observation?value-quantity=${ucum('5.4', 'mg')}`), [], 'mass is not amount');
  // Composite components too: 150 mm[Hg] is 20.0 kPa.
  assert.deepEqual(await ids(`Observation?component-code-value-quantity=${q(`8480-6$gt19|${UCUM}|kPa`)}`), [
    'bp-high',
  ]);
  // Celsius has an offset scale, not a factor: it is compared as written.
  assert.deepEqual(await ids(`Observation?value-quantity=${ucum('37.2', 'Cel')}`), ['temperature']);
  assert.deepEqual(await ids(`Observation?value-quantity=${ucum('310', 'K')}`), []);
  // Without a system, the code or unit text must match as written.
  assert.deepEqual(await ids(`Observation?value-quantity=${q('gt60||kg')}`), []);
  assert.deepEqual(await ids(`Observation?value-quantity=${q('150||lb')}`), ['weight']);
});

test('UCUM quantities sort by their value in canonical units', async () => {
  const put = (id: string, value: number, code: string) =>
    fhirFetch(`${server.base}/Observation/${id}`, {
      method: 'PUT',
      body: {
        resourceType: 'Observation',
        id,
        status: 'final',
        code: coded('3141-9'),
        valueQuantity: { value, unit: code, system: UCUM, code },
      },
    });
  await put('w-kg', 1.2, 'kg');
  await put('w-g', 900, 'g');
  await put('w-lb', 2, '[lb_av]'); // 907 g
  const res = await fhirFetch(`${server.base}/Observation?code=3141-9&_sort=value-quantity`);
  assert.deepEqual(
    res.body.entry.map((e: any) => e.resource.id),
    ['w-g', 'w-lb', 'w-kg'],
  );
  for (const id of ['w-kg', 'w-g', 'w-lb'])
    await fhirFetch(`${server.base}/Observation/${id}`, { method: 'DELETE' });
});
