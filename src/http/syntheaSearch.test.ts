/**
 * Searches over the imported Synthea data return what the data says: each expected result is computed
 * here, straight from the bundles' JSON, without the server's extraction or matching code.
 */
import assert from 'node:assert/strict';
import { after, before, test, type TestContext } from 'node:test';
import { sharedDataPath, syntheaResources, unpackShared } from '../../test/sharedData.ts';
import { createTempStore, type TempStore } from '../../test/testStore.ts';
import { fhirFetch, startServer, type TestServer } from '../../test/testServer.ts';
import { importPaths } from '../import/importer.ts';

const ARCHIVE = 'synthea-r4-dev-100.tar.gz';
const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';

let temp: TempStore | undefined;
let server: TestServer | undefined;
const observations: any[] = [];
const patients: any[] = [];

before(async () => {
  if (!sharedDataPath(ARCHIVE)) return;
  for (const resource of syntheaResources(ARCHIVE) as Iterable<any>) {
    if (resource.resourceType === 'Observation') observations.push(resource);
    if (resource.resourceType === 'Patient') patients.push(resource);
  }
  temp = createTempStore();
  const report = await importPaths(temp.store, [unpackShared(ARCHIVE)]);
  assert.deepEqual(report.rejected, []);
  server = await startServer(temp.store);
});
after(async () => {
  await server?.close();
  await temp?.cleanup();
});

function skipWithoutData(t: TestContext): boolean {
  if (server) return false;
  t.skip(`${ARCHIVE} is not in the shared data`);
  return true;
}

/** Every match, following next links; asserts that no match comes twice. */
async function allIds(query: string): Promise<string[]> {
  const ids: string[] = [];
  let url: string | undefined = `${server!.base}/${query}`;
  while (url) {
    const res = await fhirFetch(url, { headers: { prefer: 'handling=strict' } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    ids.push(...res.body.entry.map((e: any) => e.resource.id));
    url = res.body.link.find((l: any) => l.relation === 'next')?.url;
  }
  assert.equal(new Set(ids).size, ids.length, `${query}: a match came twice`);
  return ids.sort();
}

const hasLoinc = (concept: any, code: string) =>
  (concept?.coding ?? []).some((c: any) => c.system === LOINC && c.code === code);
const ids = (resources: any[]) => resources.map((r) => r.id).sort();

test('component-code-value-quantity: systolic above 140 within the same component, paged', async (t) => {
  if (skipWithoutData(t)) return;
  const expected = observations.filter((o) =>
    (o.component ?? []).some((c: any) => hasLoinc(c.code, '8480-6') && c.valueQuantity?.value > 140),
  );
  t.diagnostic(`${expected.length} systolic readings above 140`);
  assert.ok(expected.length > 0, 'the data has some');
  const found = await allIds(
    `Observation?component-code-value-quantity=${encodeURIComponent(`${LOINC}|8480-6$gt140`)}&_count=97`,
  );
  assert.deepEqual(found, ids(expected));
});

test('code-value-quantity: BMI of 30 or more; body weight above 100 kg asked in grams (UCUM)', async (t) => {
  if (skipWithoutData(t)) return;
  const obese = observations.filter((o) => hasLoinc(o.code, '39156-5') && o.valueQuantity?.value >= 30);
  assert.deepEqual(
    await allIds(
      `Observation?code-value-quantity=${encodeURIComponent(`${LOINC}|39156-5$ge30`)}&_count=1000`,
    ),
    ids(obese),
  );
  const heavy = observations.filter(
    (o) => hasLoinc(o.code, '29463-7') && o.valueQuantity?.code === 'kg' && o.valueQuantity.value > 100,
  );
  t.diagnostic(`${obese.length} BMI readings of 30 or more, ${heavy.length} weights above 100 kg`);
  assert.deepEqual(
    await allIds(
      `Observation?code-value-quantity=${encodeURIComponent(`${LOINC}|29463-7$gt100000|${UCUM}|g`)}&_count=1000`,
    ),
    ids(heavy),
  );
});

test('patients by gender and birth date; their observations by code, newest first', async (t) => {
  if (skipWithoutData(t)) return;
  const women = patients.filter((p) => p.gender === 'female' && p.birthDate < '1970-01-01');
  assert.deepEqual(await allIds('Patient?gender=female&birthdate=lt1970-01-01&_count=10'), ids(women));
  // The patient with the most height measurements.
  const heightsOf = new Map<string, any[]>();
  for (const o of observations.filter((o) => hasLoinc(o.code, '8302-2'))) {
    const key = o.subject?.reference ?? '';
    heightsOf.set(key, [...(heightsOf.get(key) ?? []), o]);
  }
  const [reference, measured] = [...heightsOf].sort((a, b) => b[1].length - a[1].length)[0]!;
  const patient = { id: reference.slice('Patient/'.length) };
  const heights = measured.sort((a, b) => Date.parse(b.effectiveDateTime) - Date.parse(a.effectiveDateTime));
  t.diagnostic(`${heights.length} heights of Patient/${patient.id}`);
  assert.ok(heights.length > 3, 'more than one page');
  let url: string | undefined =
    `${server!.base}/Observation?subject=Patient/${patient.id}&code=${LOINC}|8302-2&_sort=-date&_count=3`;
  const dates: string[] = [];
  while (url) {
    const res = await fhirFetch(url);
    dates.push(...res.body.entry.map((e: any) => e.resource.effectiveDateTime));
    url = res.body.link.find((l: any) => l.relation === 'next')?.url;
  }
  assert.deepEqual(
    dates.map((d) => Date.parse(d)),
    heights.map((o) => Date.parse(o.effectiveDateTime)),
  );
});
