/**
 * No path leaks what a principal may not see. An app holding `patient/` scopes for patient A (in its
 * token's context) tries to reach patient B's records through ids, vread, history, includes, reverse
 * includes, chains, `_has`, `$everything`, searches across types and paging links; and a front-desk
 * account tries to reach results and notes through its own permitted types. Real HTTP, real tokens.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { addAccount, operatorActor, TokenService } from '../../src/access/index.ts';
import type { Resource } from '../../src/fhir/types.ts';
import { fhirFetch } from '../testServer.ts';
import { useAccessServer } from './signInSupport.ts';

const server = useAccessServer();

const ids: Record<string, string> = {};
let appToken = '';
let frontDeskToken = '';

const base = () => `${server.origin}/fhir`;
const get = (path: string, token = appToken) =>
  fhirFetch(path.startsWith('http') ? path : `${base()}/${path}`, {
    headers: { authorization: `Bearer ${token}` },
  });

/** Every resource in a Bundle's entries, as Type/id. */
const keysOf = (bundle: { entry?: { resource: Resource }[] }) =>
  (bundle.entry ?? []).map((e) => `${e.resource.resourceType}/${e.resource.id}`).sort();

async function put(resource: Resource): Promise<string> {
  return (await server.store.create(resource)).resource.id!;
}

describe('no leaks', () => {
  before(async () => {
    ids.practitioner = await put({ resourceType: 'Practitioner', name: [{ family: 'Shareddoc' }] });
    for (const who of ['A', 'B']) {
      const patient = await put({
        resourceType: 'Patient',
        name: [{ family: `Leaktest${who}` }],
        generalPractitioner: [{ reference: `Practitioner/${ids.practitioner}` }],
      });
      ids[`patient${who}`] = patient;
      ids[`encounter${who}`] = await put({
        resourceType: 'Encounter',
        status: 'finished',
        class: { code: 'AMB' },
        subject: { reference: `Patient/${patient}` },
      });
      for (const n of [1, 2])
        ids[`observation${who}${n}`] = await put({
          resourceType: 'Observation',
          status: 'final',
          code: { coding: [{ system: 'http://loinc.org', code: who === 'A' ? '29463-7' : '4548-4' }] },
          subject: { reference: `Patient/${patient}` },
          encounter: { reference: `Encounter/${ids[`encounter${who}`]}` },
          performer: [{ reference: `Practitioner/${ids.practitioner}` }],
        });
      ids[`appointment${who}`] = await put({
        resourceType: 'Appointment',
        status: 'booked',
        start: '2025-03-04T09:00:00Z',
        end: '2025-03-04T09:15:00Z',
        participant: [{ actor: { reference: `Patient/${patient}` }, status: 'accepted' }],
      });
    }
    // B's observation changes once, so it has a history.
    const b1 = await server.store.read('Observation', ids.observationB1!);
    await server.store.update({ ...b1, status: 'amended' });

    const issuer = new TokenService(server.store, server.keys, { lifetimeSeconds: 3600 });
    for (const [userName, role] of [
      ['leak-physician', 'physician'],
      ['leak-front-desk', 'front-desk'],
    ] as const)
      await addAccount(
        server.store,
        { userName, role, password: 'a long demo passphrase 42' },
        operatorActor(),
      );
    const issue = (subject: string, scope: string, patient?: string) =>
      issuer
        .issue({
          subject,
          subjectKind: 'user',
          scope,
          patient,
          audience: base(),
          issuer: server.origin,
          now: server.clock.now(),
        })
        .then((t) => t.access_token);
    // A physician's app, launched for patient A: it may read and write A's chart and nothing else.
    appToken = await issue('leak-physician', 'patient/*.cruds', ids.patientA);
    frontDeskToken = await issue('leak-front-desk', 'user/*.*');
  });

  it("by id: B's patient, observation, a version and the history are not known to A's app", async () => {
    assert.equal((await get(`Patient/${ids.patientA}`)).status, 200);
    assert.equal((await get(`Observation/${ids.observationA1}`)).status, 200);
    for (const path of [
      `Patient/${ids.patientB}`,
      `Observation/${ids.observationB1}`,
      `Observation/${ids.observationB1}/_history/1`,
      `Observation/${ids.observationB1}/_history`,
      `Encounter/${ids.encounterB}`,
      `Patient/${ids.patientB}/$everything`,
    ]) {
      const response = await get(path);
      assert.equal(response.status, 404, path);
      assert.doesNotMatch(JSON.stringify(response.body), /LeaktestB|4548-4/, path);
    }
    // Directory data is no one's chart: the shared practitioner is readable.
    assert.equal((await get(`Practitioner/${ids.practitioner}`)).status, 200);
  });

  it("searches stay inside A's compartment: by B's id, a chain, _has, and with no criteria at all", async () => {
    const all = await get('Observation');
    assert.deepEqual(
      keysOf(all.body),
      [`Observation/${ids.observationA1}`, `Observation/${ids.observationA2}`].sort(),
    );
    assert.equal(all.body.total, 2, 'the total counts only what the app may see');
    for (const query of [
      `Observation?subject=Patient/${ids.patientB}`,
      `Observation?patient=${ids.patientB}`,
      'Observation?subject.name=LeaktestB',
      'Observation?code=http://loinc.org|4548-4',
      `Observation?encounter=Encounter/${ids.encounterB}`,
      `Patient?_id=${ids.patientB}`,
      'Patient?name=LeaktestB',
      'Patient?_has:Observation:subject:code=4548-4',
      `Encounter?_id=${ids.encounterB}`,
      `Appointment?actor=Patient/${ids.patientB}`,
    ]) {
      const response = await get(query);
      assert.equal(response.status, 200, query);
      assert.deepEqual(keysOf(response.body), [], query);
      assert.equal(response.body.total, 0, query);
    }
    const mine = await get('Patient?_has:Observation:subject:code=29463-7');
    assert.deepEqual(keysOf(mine.body), [`Patient/${ids.patientA}`]);
  });

  it("includes and reverse includes bring nothing of B's, however they are asked", async () => {
    for (const query of [
      `Practitioner?_id=${ids.practitioner}&_revinclude=Observation:performer`,
      `Practitioner?_id=${ids.practitioner}&_revinclude=Patient:general-practitioner`,
      `Practitioner?_id=${ids.practitioner}&_revinclude=*`,
      `Patient?_id=${ids.patientA}&_revinclude=*&_include=*`,
      `Observation?_include=Observation:encounter&_revinclude:iterate=Observation:encounter`,
      `Patient?_include:iterate=Patient:general-practitioner&_revinclude:iterate=Observation:performer`,
    ]) {
      const response = await get(query);
      assert.equal(response.status, 200, query);
      const found = keysOf(response.body);
      for (const key of [
        `Patient/${ids.patientB}`,
        `Observation/${ids.observationB1}`,
        `Observation/${ids.observationB2}`,
        `Encounter/${ids.encounterB}`,
        `Appointment/${ids.appointmentB}`,
      ])
        assert.ok(!found.includes(key), `${query} includes ${key}`);
    }
  });

  it("paging links, $everything and history give A's records only; searches across types and type history are refused", async () => {
    const seen: string[] = [];
    let page = (await get('Observation?_count=1')).body;
    for (let i = 0; i < 5 && page; i++) {
      seen.push(...keysOf(page));
      const next = page.link?.find((l: { relation: string }) => l.relation === 'next')?.url;
      page = next ? (await get(next)).body : undefined;
    }
    assert.deepEqual(
      seen.sort(),
      [`Observation/${ids.observationA1}`, `Observation/${ids.observationA2}`].sort(),
    );
    const everything = await get(`Patient/${ids.patientA}/$everything`);
    assert.equal(everything.status, 200);
    assert.ok(keysOf(everything.body).every((key) => !key.includes(ids.patientB!) && !/B/.test(key)));
    assert.ok(
      keysOf(everything.body).includes(`Observation/${ids.observationA1}`),
      'the patient’s own chart is there',
    );
    for (const path of ['Observation/_history', '_history', '?_type=Observation,Patient', '', 'AuditEvent']) {
      const response = await get(path);
      assert.equal(response.status, 403, path);
    }
  });

  it("writes: A's app cannot create, change or delete a record of B's, nor move one of A's to B", async () => {
    const forB = {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'note' },
      subject: { reference: `Patient/${ids.patientB}` },
    };
    const send = (method: string, path: string, body?: unknown) =>
      fhirFetch(`${base()}/${path}`, { method, body, headers: { authorization: `Bearer ${appToken}` } });
    assert.equal((await send('POST', 'Observation', forB)).status, 403);
    assert.equal(
      (await send('PUT', `Observation/${ids.observationB2}`, { ...forB, id: ids.observationB2 })).status,
      403,
    );
    assert.equal((await send('DELETE', `Observation/${ids.observationB2}`)).status, 403);
    assert.equal(
      (await send('PUT', `Observation/${ids.observationA2}`, { ...forB, id: ids.observationA2 })).status,
      403,
    );
    const forA = { ...forB, subject: { reference: `Patient/${ids.patientA}` } };
    assert.equal((await send('POST', 'Observation', forA)).status, 201);
    assert.equal((await server.store.read('Observation', ids.observationB2!)).status, 'final', 'B unchanged');
  });

  it('front desk: no results or notes through includes, _has, chains or $everything', async () => {
    const asFrontDesk = (path: string) => get(path, frontDeskToken);
    const included = await asFrontDesk(
      `Patient?_id=${ids.patientA}&_revinclude=Observation:subject&_revinclude=Appointment:actor`,
    );
    assert.equal(included.status, 200);
    assert.deepEqual(
      keysOf(included.body),
      [`Appointment/${ids.appointmentA}`, `Patient/${ids.patientA}`].sort(),
    );
    assert.equal((await asFrontDesk('Patient?_has:Observation:subject:code=4548-4')).status, 403);
    assert.equal((await asFrontDesk('Appointment?patient.name=LeaktestA')).status, 200);
    assert.equal((await asFrontDesk(`Observation?subject=Patient/${ids.patientA}`)).status, 403);
    assert.equal((await asFrontDesk('?_type=Observation')).status, 403);
    const everything = await asFrontDesk(`Patient/${ids.patientA}/$everything`);
    assert.equal(everything.status, 200);
    const types = new Set(keysOf(everything.body).map((key) => key.split('/')[0]));
    assert.deepEqual([...types].sort(), ['Appointment', 'Patient']);
    const across = await asFrontDesk(`?_lastUpdated=gt2000-01-01`);
    assert.equal(across.status, 200);
    const acrossTypes = new Set(keysOf(across.body).map((key) => key.split('/')[0]));
    assert.ok(!acrossTypes.has('Observation') && !acrossTypes.has('Encounter'), [...acrossTypes].join());
  });
});
