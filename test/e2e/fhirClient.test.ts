/** A FHIR client written by others (fhir-kit-client) creates, reads, searches and pages through the server. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client } from 'fhir-kit-client';
import { createTempStore, type TempStore } from '../testStore.ts';
import { authorizationFor, startServer, type TestServer } from '../testServer.ts';

let temp: TempStore;
let server: TestServer;
let client: any;

before(async () => {
  temp = createTempStore();
  server = await startServer(temp.store);
  // The client sends the test server's bearer token, as any FHIR client of ChartVault must.
  client = new Client({ baseUrl: server.base, customHeaders: authorizationFor(server.base) });
});
after(async () => {
  await server.close();
  await temp.cleanup();
});

test('fhir-kit-client: capability statement, create, read, update, vread, search and paging', async () => {
  const capabilities = await client.capabilityStatement();
  assert.equal(capabilities.fhirVersion, '4.0.1');

  const ids: string[] = [];
  for (let i = 0; i < 12; i++) {
    const created = await client.create({
      resourceType: 'Patient',
      body: {
        resourceType: 'Patient',
        name: [{ family: 'Kitclient', given: [`P${i}`] }],
        birthDate: `2001-01-${String(i + 1).padStart(2, '0')}`,
      },
    });
    ids.push(created.id);
  }
  const read = await client.read({ resourceType: 'Patient', id: ids[0] });
  assert.equal(read.name[0].given[0], 'P0');
  const updated = await client.update({
    resourceType: 'Patient',
    id: ids[0],
    body: { ...read, gender: 'female' },
  });
  assert.equal(updated.meta.versionId, '2');
  const v1 = await client.vread({ resourceType: 'Patient', id: ids[0], version: '1' });
  assert.equal(v1.gender, undefined);

  const first = await client.search({
    resourceType: 'Patient',
    searchParams: { family: 'kitclient', _count: 5, _sort: 'birthdate' },
  });
  assert.equal(first.total, 12);
  const seen = first.entry.map((e: any) => e.resource.name[0].given[0]);
  let page = first;
  while ((page = await client.nextPage({ bundle: page })))
    seen.push(...page.entry.map((e: any) => e.resource.name[0].given[0]));
  assert.deepEqual(
    seen,
    Array.from({ length: 12 }, (_, i) => `P${i}`),
  );

  const history = await client.history({ resourceType: 'Patient', id: ids[0] });
  assert.equal(history.total, 2);
  await client.delete({ resourceType: 'Patient', id: ids[1] });
  await assert.rejects(
    client.read({ resourceType: 'Patient', id: ids[1] }),
    (e: any) => e.response?.status === 410,
  );
});
