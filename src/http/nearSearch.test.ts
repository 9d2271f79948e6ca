/** Location `near` over real HTTP: distance along the earth's surface, units, the date line, errors. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fhirFetch, useTestServer } from '../../test/testServer.ts';

const server = useTestServer(async (server) => {
  const places: [string, number, number][] = [
    ['ann-arbor', 42.2808, -83.743],
    ['detroit', 42.3314, -83.0458], // about 57 km east of Ann Arbor
    ['chicago', 41.8781, -87.6298],
    ['suva', -18.1416, 178.4419], // Fiji, west of the date line
    ['taveuni', -16.85, -179.97], // Fiji, east of it: about 230 km from Suva
  ];
  for (const [id, latitude, longitude] of places) {
    const res = await fhirFetch(`${server.base}/Location/${id}`, {
      method: 'PUT',
      body: { resourceType: 'Location', id, name: id, position: { latitude, longitude } },
    });
    assert.ok(res.status < 300, JSON.stringify(res.body));
  }
  await fhirFetch(`${server.base}/Location/nowhere`, {
    method: 'PUT',
    body: { resourceType: 'Location', id: 'nowhere', name: 'no position' },
  });
});

const ids = async (near: string) => {
  const res = await fhirFetch(`${server.base}/Location?near=${encodeURIComponent(near)}`, {
    headers: { prefer: 'handling=strict' },
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.entry.map((e: any) => e.resource.id).sort();
};

test('near finds positions within the distance, in km unless other units are given', async () => {
  assert.deepEqual(await ids('42.2808|-83.743|10|km'), ['ann-arbor']);
  assert.deepEqual(await ids('42.2808|-83.743|50'), ['ann-arbor'], 'Detroit is 57 km away');
  assert.deepEqual(await ids('42.2808|-83.743|60|km'), ['ann-arbor', 'detroit']);
  assert.deepEqual(await ids('42.2808|-83.743|40|[mi_i]'), ['ann-arbor', 'detroit'], '40 miles is 64 km');
  assert.deepEqual(await ids('42.2808|-83.743|500|m'), ['ann-arbor']);
  assert.deepEqual(await ids('42.2808|-83.743'), ['ann-arbor'], 'without a distance: 5 km');
  assert.deepEqual(await ids('42.2808|-83.743|400|km'), ['ann-arbor', 'chicago', 'detroit']);
  assert.deepEqual(await ids('42.2808|-83.743|1|km,41.88|-87.63|1|km'), ['ann-arbor', 'chicago']);
});

test('near across the date line', async () => {
  assert.deepEqual(await ids('-17.5|179.5|300|km'), ['suva', 'taveuni']);
  assert.deepEqual(await ids('-18.1416|178.4419|100|km'), ['suva']);
});

test('malformed near values are a 400 naming the parameter', async () => {
  for (const bad of ['95|0|1|km', '42|-190|1|km', 'north|west', '42|-83|10|kg', '42|-83|-1|km']) {
    const res = await fhirFetch(`${server.base}/Location?near=${encodeURIComponent(bad)}`);
    assert.equal(res.status, 400, bad);
    assert.match(res.body.issue[0].diagnostics, /near/);
  }
});
