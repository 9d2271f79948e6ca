/**
 * Restricted charts (Patient.meta.security R or V) over real HTTP with real tokens: open to the care
 * team (the general practitioner, members of an active CareTeam, through the Practitioner an account
 * is linked to), closed to everyone else through every path, and opened for an hour by breaking the
 * glass with a reason, which is audited and raises an alert the security officer reads with
 * `chartvault report alerts`.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  addAccount,
  linkPractitioner,
  operatorActor,
  registerClient,
  TokenService,
} from '../../src/access/index.ts';
import { CONFIDENTIALITY_SYSTEM, listAlerts } from '../../src/access/restrictedCharts.ts';
import { chartvault } from '../cli.ts';
import { fhirFetch } from '../testServer.ts';
import { MINUTE, useAccessServer } from './signInSupport.ts';

const server = useAccessServer();
const ids: Record<string, string> = {};
const tokens: Record<string, string> = {};
const base = () => `${server.origin}/fhir`;
const as = (who: string, path: string, init: { method?: string; body?: unknown } = {}) =>
  fhirFetch(`${base()}/${path}`, { ...init, headers: { authorization: `Bearer ${tokens[who]}` } });
const keysOf = (bundle: any): string[] =>
  (bundle.entry ?? [])
    .filter((e: any) => e.search?.mode !== 'outcome')
    .map((e: any) => `${e.resource.resourceType}/${e.resource.id}`)
    .sort();

describe('restricted charts and breaking the glass', () => {
  before(async () => {
    const put = async (resource: any) => (await server.store.create(resource)).resource.id!;
    for (const name of ['gp', 'teamNurse', 'other'])
      ids[name] = await put({ resourceType: 'Practitioner', name: [{ family: `Dr ${name}` }] });
    ids.restricted = await put({
      resourceType: 'Patient',
      meta: { security: [{ system: CONFIDENTIALITY_SYSTEM, code: 'R' }] },
      name: [{ family: 'Hiddenchart' }],
      generalPractitioner: [{ reference: `Practitioner/${ids.gp}` }],
    });
    ids.open = await put({ resourceType: 'Patient', name: [{ family: 'Openchart' }] });
    await put({
      resourceType: 'CareTeam',
      status: 'active',
      subject: { reference: `Patient/${ids.restricted}` },
      participant: [{ member: { reference: `Practitioner/${ids.teamNurse}` } }],
    });
    for (const who of ['restricted', 'open'])
      ids[`obs-${who}`] = await put({
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'weight' },
        subject: { reference: `Patient/${ids[who]}` },
      });

    const issuer = new TokenService(server.store, server.keys, { lifetimeSeconds: 4 * 3600 });
    const people: [string, string, string | undefined][] = [
      ['gp', 'physician', ids.gp],
      ['teamNurse', 'nurse', ids.teamNurse],
      ['other', 'physician', ids.other],
      ['unlinked', 'physician', undefined],
      ['frontDesk', 'front-desk', undefined],
      ['officer', 'security-officer', undefined],
    ];
    for (const [name, role, practitioner] of people) {
      await addAccount(
        server.store,
        { userName: `rc-${name}`, role, password: 'a long demo passphrase 42', practitioner },
        operatorActor(),
      );
      tokens[name] = (
        await issuer.issue({
          subject: `rc-${name}`,
          subjectKind: 'user',
          scope: 'user/*.*',
          audience: base(),
          issuer: server.origin,
          now: server.clock.now(),
        })
      ).access_token;
    }
    const { client } = await registerClient(
      server.store,
      { name: 'rc-lab', scopes: 'system/*.*' },
      operatorActor(),
    );
    tokens.system = (
      await issuer.issue({
        subject: client.clientId,
        subjectKind: 'client',
        scope: 'system/*.*',
        audience: base(),
        issuer: server.origin,
        now: server.clock.now(),
      })
    ).access_token;
  });

  it('the care team (general practitioner, CareTeam member) and systems see the chart', async () => {
    for (const who of ['gp', 'teamNurse', 'system']) {
      assert.equal((await as(who, `Patient/${ids.restricted}`)).status, 200, who);
      assert.equal((await as(who, `Observation/${ids['obs-restricted']}`)).status, 200, who);
      const found = await as(who, `Observation?subject=Patient/${ids.restricted}`);
      assert.deepEqual(keysOf(found.body), [`Observation/${ids['obs-restricted']}`], who);
    }
  });

  it('anyone else gets 403 naming the way in, and searches withhold the chart and say so', async () => {
    for (const who of ['other', 'unlinked', 'frontDesk']) {
      const read = await as(who, `Patient/${ids.restricted}`);
      assert.equal(read.status, 403, who);
      assert.match(read.body.issue[0].diagnostics, /restricted chart.*\$break-the-glass/);
      assert.doesNotMatch(JSON.stringify(read.body), /Hiddenchart/);
      const byName = await as(who, 'Patient?name=Hiddenchart');
      assert.deepEqual(keysOf(byName.body), [], who);
      const outcome = byName.body.entry.find((e: any) => e.search.mode === 'outcome');
      assert.match(outcome.resource.issue[0].diagnostics, /1 match .* withheld/);
      assert.deepEqual(keysOf((await as(who, 'Patient?name=Openchart')).body), [`Patient/${ids.open}`]);
    }
    const paths = [
      `Observation/${ids['obs-restricted']}`,
      `Observation/${ids['obs-restricted']}/_history/1`,
      `Observation/${ids['obs-restricted']}/_history`,
      `Patient/${ids.restricted}/$everything`,
    ];
    for (const path of paths) assert.equal((await as('other', path)).status, 403, path);
    const all = await as('other', 'Observation?code:text=weight');
    assert.deepEqual(keysOf(all.body), [`Observation/${ids['obs-open']}`]);
    const included = await as('other', `Observation?_id=${ids['obs-open']}&_revinclude=*&_include=*`);
    assert.ok(!keysOf(included.body).some((key) => key.includes(ids.restricted!)));
    const write = await as('other', 'Observation', {
      method: 'POST',
      body: {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'x' },
        subject: { reference: `Patient/${ids.restricted}` },
      },
    });
    assert.equal(write.status, 403);
    // Nor may they change, move away or delete what the chart holds, by id, by condition or in a Bundle.
    const obs = ids['obs-restricted']!;
    const moved = {
      resourceType: 'Observation',
      id: obs,
      status: 'final',
      code: { text: 'x' },
      subject: { reference: `Patient/${ids.open}` },
    };
    const attempts = [
      await as('other', `Observation/${obs}`, { method: 'PUT', body: moved }),
      await as('other', `Observation/${obs}`, { method: 'DELETE' }),
      await as('other', `Observation?_id=${obs}`, { method: 'DELETE' }),
      await as('other', `Observation?_id=${obs}`, { method: 'PUT', body: { ...moved, id: undefined } }),
    ];
    assert.deepEqual(
      attempts.map((a) => a.status),
      [403, 403, 403, 403],
    );
    const bundle = await as('other', '', {
      method: 'POST',
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [{ request: { method: 'DELETE', url: `Observation/${obs}` } }],
      },
    });
    assert.equal(bundle.status, 403);
    const kept = await server.store.read('Observation', obs);
    assert.deepEqual(
      [kept.meta?.versionId, (kept as any).subject.reference],
      ['1', `Patient/${ids.restricted}`],
    );
  });

  it('breaking the glass needs a person, a role that reads charts, a restricted chart and a reason', async () => {
    const glass = (who: string, patient: string, reason?: string) =>
      as(who, `Patient/${patient}/$break-the-glass`, {
        method: 'POST',
        body: {
          resourceType: 'Parameters',
          parameter: reason === undefined ? [] : [{ name: 'reason', valueString: reason }],
        },
      });
    assert.equal((await glass('other', ids.restricted!)).status, 400, 'no reason');
    assert.equal((await glass('other', ids.restricted!, 'urgent')).status, 400, 'too short to review');
    assert.equal(
      (await glass('other', ids.open!, 'unconscious in the waiting room')).status,
      400,
      'not restricted',
    );
    assert.equal((await glass('officer', ids.restricted!, 'unconscious in the waiting room')).status, 403);
    assert.equal((await glass('system', ids.restricted!, 'unconscious in the waiting room')).status, 403);
    assert.deepEqual(await listAlerts(server.store), [], 'refusals open nothing and raise no alert');
  });

  it('broken glass opens the chart for an hour, is audited, and is in the alerts report with its reason', async () => {
    const reason = 'Patient collapsed at reception; GP away';
    const response = await as('other', `Patient/${ids.restricted}/$break-the-glass`, {
      method: 'POST',
      body: { resourceType: 'Parameters', parameter: [{ name: 'reason', valueString: reason }] },
    });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    const until = response.body.parameter.find((p: any) => p.name === 'until').valueInstant;
    assert.equal(Date.parse(until), server.clock.now() + 60 * MINUTE);
    assert.equal((await as('other', `Patient/${ids.restricted}`)).status, 200);
    assert.equal((await as('other', `Patient/${ids.restricted}/$everything`)).status, 200);
    assert.equal((await as('unlinked', `Patient/${ids.restricted}`)).status, 403, 'for that person only');

    const [entry] = (
      await server.store.searchAudit({ patient: ids.restricted, limit: 100, descending: true })
    )
      .map((record) => JSON.parse(record.entry))
      .filter((e) => e.action === 'break-glass');
    assert.deepEqual(
      [entry.agent.id, entry.agent.role, entry.outcome, entry.patients],
      ['rc-other', 'physician', 'success', [ids.restricted]],
    );
    assert.ok(!JSON.stringify(entry).includes('collapsed'), 'the reason stays out of the audit entry');
    const report = chartvault('report', 'alerts', '--data', server.dataDir, '--key-dir', server.keyDir);
    assert.equal(report.status, 0, report.stderr);
    assert.match(report.stdout, /1 break-the-glass access to review/);
    assert.match(report.stdout, new RegExp(`rc-other \\(physician\\).*Patient/${ids.restricted}`));
    assert.match(report.stdout, /reason: Patient collapsed at reception; GP away/);

    server.clock.advance(61 * MINUTE);
    assert.equal((await as('other', `Patient/${ids.restricted}`)).status, 403, 'the hour is over');
  });

  it('linking an account to a practitioner on the care team opens the chart at its next request', async () => {
    assert.equal((await as('unlinked', `Patient/${ids.restricted}`)).status, 403);
    await linkPractitioner(server.store, 'rc-unlinked', ids.gp, operatorActor());
    assert.equal((await as('unlinked', `Patient/${ids.restricted}`)).status, 200);
    await linkPractitioner(server.store, 'rc-unlinked', undefined, operatorActor());
    assert.equal((await as('unlinked', `Patient/${ids.restricted}`)).status, 403);
  });
});
