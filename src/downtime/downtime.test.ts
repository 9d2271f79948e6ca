/**
 * The downtime export over a real encrypted store holding the demo practice: what the file holds once
 * opened (compared with the generated resources, not with the exporter's own reading), what it does
 * not reveal, and how it behaves with odd data, failing folders and passphrase changes.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateDemoPractice } from '../demo/index.ts';
import type { Resource } from '../fhir/types.ts';
import { createTempStore, tempFolder, type TempStore } from '../../test/testStore.ts';
import {
  checkPassphrase,
  deriveDowntimeKey,
  exportDowntime,
  nextExportTime,
  openEnvelope,
  passphraseProblem,
  readPassphraseFile,
  scheduleExports,
  type DowntimeContent,
  type Envelope,
  type ExportRequest,
} from './index.ts';

const TODAY = '2026-11-28';
const ZONE = 'America/Chicago';
/** 10:30 in Chicago on TODAY. */
const NOW = new Date('2026-11-28T16:30:00Z');
const PASSPHRASE = 'maple river lantern orbit';
const KEY = deriveDowntimeKey(PASSPHRASE);

let demo: TempStore;
let resources: Resource[];
const folder = tempFolder('chartvault-downtime-');

before(async () => {
  demo = createTempStore(ZONE);
  resources = generateDemoPractice({ today: TODAY, timeZone: ZONE, patients: 80, asOfTime: '10:30' });
  for (let i = 0; i < resources.length; i += 5000) {
    await demo.store.writeBatch(resources.slice(i, i + 5000).map((resource) => ({ kind: 'put', resource })));
  }
});

after(async () => {
  await demo.cleanup();
  folder.remove();
});

function request(overrides: Partial<ExportRequest> = {}): ExportRequest {
  return {
    store: demo.store,
    timeZone: ZONE,
    key: KEY,
    out: join(folder.path, 'downtime.html'),
    days: 3,
    census: false,
    includeRestricted: false,
    staleAfterHours: 8,
    maxFileBytes: 25 * 1024 * 1024,
    exportedBy: 'tester@test-host',
    now: NOW,
    ...overrides,
  };
}

function envelopeOf(file: string): Envelope {
  const html = readFileSync(file, 'utf8');
  const json = /<script type="application\/json" id="envelope">(.*?)<\/script>/s.exec(html)![1];
  return JSON.parse(json) as Envelope;
}

function contentOf(file: string, passphrase = PASSPHRASE): DowntimeContent {
  return JSON.parse(openEnvelope(envelopeOf(file), passphrase).toString('utf8')) as DowntimeContent;
}

const all = (type: string) => resources.filter((r) => r.resourceType === type) as any[];
const nameOf = (patient: any) => [...patient.name[0].given, patient.name[0].family].join(' ');
const patientOf = (appointment: any) =>
  appointment.participant
    .find((p: any) => p.actor?.reference?.startsWith('Patient/'))
    .actor.reference.slice(8);
const isRestricted = (r: any) => (r.meta?.security ?? []).some((s: any) => s.code === 'R');

describe('the downtime file', () => {
  let content: DowntimeContent;
  const file = () => join(folder.path, 'downtime.html');

  before(async () => {
    await exportDowntime(request());
    content = contentOf(file());
  });

  test("opens with the passphrase and holds today's appointments, as the demo practice booked them", () => {
    // The demo writes appointment times in the practice's own offset, so the first ten characters are the local date.
    const expected = all('Appointment')
      .filter((a) => a.start.slice(0, 10) === TODAY && a.status !== 'entered-in-error')
      .map(
        (a) =>
          `${a.start.slice(11, 16)} ${a.participant.find((p: any) => p.actor.reference.startsWith('Practitioner/')).actor.display}`,
      )
      .sort();
    assert.ok(expected.length >= 20, 'the demo books a full day');
    assert.equal(content.days[0].localDate, TODAY);
    const shown = content.days[0].clinicians
      .flatMap((c) => c.appointments.map((a) => `${a.localTime} ${c.name}`))
      .sort();
    assert.deepEqual(shown, expected);

    const patients = new Map(all('Patient').map((p) => [p.id, p]));
    for (const clinician of content.days[0].clinicians) {
      for (const visit of clinician.appointments) {
        if (visit.patient === undefined) {
          assert.match(visit.patientLabel!, /Restricted chart/);
          continue;
        }
        const booked = all('Appointment').find(
          (a) =>
            a.start.slice(11, 16) === visit.localTime &&
            a.start.slice(0, 10) === TODAY &&
            a.participant.some((p: any) => p.actor.display === clinician.name),
        );
        assert.equal(content.patients[visit.patient].name, nameOf(patients.get(patientOf(booked))));
      }
    }
  });

  test('covers today and the next two clinic days', () => {
    assert.deepEqual(
      content.days.map((d) => d.localDate),
      ['2026-11-28', '2026-11-29', '2026-11-30'],
    );
  });

  test("a scheduled patient's chart lists their active medications, allergies and repeated lab results", () => {
    const withMeds = content.patients.find(
      (p) => p.medications.length > 0 && p.labs.some((s) => s.points.length > 1),
    )!;
    assert.ok(withMeds, 'some scheduled patient has medications and repeated labs');
    const patient = all('Patient').find((p) => nameOf(p) === withMeds.name);
    const subject = `Patient/${patient.id}`;
    const activeMeds = all('MedicationRequest')
      .filter((m) => m.subject.reference === subject && (m.status === 'active' || m.status === 'on-hold'))
      .map((m) => m.medicationCodeableConcept.text ?? m.medicationCodeableConcept.coding[0].display)
      .sort();
    assert.deepEqual(withMeds.medications.map((m) => m.text).sort(), activeMeds);
    const allergies = all('AllergyIntolerance')
      .filter((a) => a.patient.reference === subject)
      .map((a) => a.code.text ?? a.code.coding[0].display)
      .sort();
    assert.deepEqual(withMeds.allergies.map((a) => a.text).sort(), allergies);
    const series = withMeds.labs.find((s) => s.points.length > 1)!;
    const sameTest = all('Observation').filter(
      (o) =>
        o.subject.reference === subject &&
        o.code.coding[0].code ===
          all('Observation').find(
            (x) =>
              x.subject.reference === subject && (x.code.text ?? x.code.coding[0].display) === series.name,
          )?.code.coding[0].code,
    );
    assert.equal(series.points.length, Math.min(20, sameTest.length));
    const dates = series.points.map((p) => p.date);
    assert.deepEqual(dates, [...dates].sort(), 'oldest first, for the plot');
  });

  test("contains none of the demo patients' names, identifiers or birth dates in clear text", () => {
    const html = readFileSync(file(), 'utf8');
    const { data } = envelopeOf(file());
    // The sealed data is base64 of ciphertext, where any short word turns up by chance now and then;
    // everything else in the file is checked for every value, and the whole file for longer ones.
    assert.match(data, /^[A-Za-z0-9+/]+=*$/);
    const outsideData = html.replace(data, '');
    let checked = 0;
    for (const patient of all('Patient')) {
      const values = [
        patient.name[0].family,
        ...patient.name[0].given,
        nameOf(patient),
        patient.birthDate,
        ...patient.identifier.map((i: any) => i.value),
        ...(patient.telecom ?? []).map((t: any) => t.value),
        ...(patient.address ?? []).flatMap((a: any) => a.line),
      ];
      for (const value of values) {
        assert.ok(!outsideData.includes(value), `"${value}" is readable in the downtime file`);
        if (value.length >= 6)
          assert.ok(!html.includes(value), `"${value}" is readable in the downtime file`);
        checked++;
      }
    }
    assert.ok(checked > 500);
    // The one date in the clear is when the copy was made (so staff can pick the newest copy before unlocking).
    assert.ok(!outsideData.replace(`"asOf":"${NOW.toISOString()}"`, '').includes(TODAY));
  });

  test('a wrong passphrase opens nothing, nor does a copy whose clear-text time was changed', () => {
    assert.throws(() => openEnvelope(envelopeOf(file()), 'maple river lantern orbit!'));
    const envelope = envelopeOf(file());
    assert.equal(openEnvelope(envelope, PASSPHRASE).length > 0, true);
    assert.throws(() => openEnvelope({ ...envelope, asOf: new Date().toISOString() }, PASSPHRASE));
  });

  test('restricted charts are left out, unless the practice opts in', async () => {
    const restrictedPatients = all('Patient').filter(isRestricted);
    const restricted = restrictedPatients.map(nameOf);
    assert.ok(restricted.length > 0);
    for (const name of restricted) assert.ok(!content.patients.some((p) => p.name === name));
    const restrictedIds = new Set(restrictedPatients.map((p) => p.id));
    const days = new Set(content.days.map((d) => d.localDate));
    const restrictedVisits = all('Appointment').filter(
      (a) => days.has(a.start.slice(0, 10)) && restrictedIds.has(patientOf(a)),
    );
    assert.ok(restrictedVisits.length > 0, 'the demo schedules a restricted chart in these days');
    assert.equal(content.restrictedLeftOut, new Set(restrictedVisits.map(patientOf)).size);
    const shownRestricted = content.days.flatMap((d) =>
      d.clinicians.flatMap((c) => c.appointments.filter((a) => a.patientLabel?.startsWith('Restricted'))),
    );
    assert.equal(shownRestricted.length, restrictedVisits.length);
    assert.ok(
      shownRestricted.every((v) => v.reason === ''),
      "a restricted visit's reason is left out too",
    );
    const out = join(folder.path, 'with-restricted.html');
    await exportDowntime(request({ out, census: true, includeRestricted: true }));
    const opened = contentOf(out);
    for (const name of restricted)
      assert.ok(
        opened.patients.some((p) => p.name === name),
        `${name} is in the opt-in copy`,
      );
  });

  test('census mode holds every active patient, and leaves the last ones out beyond the size limit', async () => {
    const out = join(folder.path, 'census.html');
    await exportDowntime(request({ out, census: true }));
    const census = contentOf(out);
    const active = all('Patient').filter((p) => p.active !== false && !isRestricted(p));
    assert.equal(census.patients.length, active.length);

    // One clinic day schedules about half the patients; the rest are census charts that can be left out.
    const oneDay = join(folder.path, 'census-one-day.html');
    const full = (await exportDowntime(request({ out: oneDay, census: true, days: 1 }))).bytes;
    const limit = Math.floor(full * 0.85);
    const small = join(folder.path, 'census-small.html');
    const report = await exportDowntime(request({ out: small, census: true, days: 1, maxFileBytes: limit }));
    assert.ok(report.bytes <= limit, `${report.bytes} bytes, limit ${limit}`);
    const trimmed = contentOf(small);
    assert.ok(trimmed.censusLeftOut > 0);
    assert.equal(trimmed.patients.length + trimmed.censusLeftOut, active.length);
    // Every scheduled patient is still there.
    const scheduled = new Set(
      trimmed.days[0].clinicians.flatMap((c) => c.appointments.map((a) => a.patient)),
    );
    for (const index of scheduled)
      if (index !== undefined) assert.ok(trimmed.patients[index].visits.length > 0);
    assert.ok(trimmed.patients.length > scheduled.size - 1);
  });

  test('each export is recorded in the audit chain naming who exported which charts', async () => {
    const records = await demo.store.searchAudit({ actions: ['export'], limit: 100 });
    const exportEntry = records
      .map((r) => JSON.parse(r.entry))
      .find((e: any) => e.resource?.type === 'downtime-copy' && e.detail.written === file()) as any;
    assert.ok(exportEntry);
    assert.deepEqual(exportEntry.agent, { type: 'os-user', id: 'tester@test-host' });
    assert.equal(exportEntry.outcome, 'success');
    const patientIds = all('Patient')
      .filter((p) => content.patients.some((c) => c.name === nameOf(p)))
      .map((p) => p.id)
      .sort();
    assert.deepEqual(exportEntry.patients, patientIds);
    assert.ok(
      !records.some((r) => r.entry.includes(content.patients[0].name)),
      'the audit names charts by id, not by name',
    );
    const { resources: stored } = await demo.store.search({
      types: ['AuditEvent'],
      criteria: [],
      sort: [],
      count: 1,
      offset: 0,
      total: 'none',
    });
    assert.equal(stored.length, 0, 'no AuditEvent resource is written into the record store');
  });
});

describe('odd data', () => {
  let odd: TempStore;
  before(() => {
    odd = createTempStore('UTC');
  });
  after(() => odd.cleanup());

  const oddRequest = (out: string): ExportRequest => ({
    ...request({ out: join(folder.path, out), now: new Date('2026-11-28T08:00:00Z') }),
    store: odd.store,
    timeZone: 'UTC',
  });

  test('a store with no appointments in the window gives a file that says so', async () => {
    const report = await exportDowntime(oddRequest('empty.html'));
    assert.equal(report.appointments, 0);
    const opened = contentOf(join(folder.path, 'empty.html'));
    assert.deepEqual(opened.days, [{ localDate: '2026-11-28', clinicians: [] }]);
  });

  test('patients with missing data, appointments without a clinician or with an unknown patient', async () => {
    await odd.store.update({ resourceType: 'Patient', id: 'bare' } as Resource);
    await odd.store.update({
      resourceType: 'Appointment',
      id: 'a1',
      status: 'booked',
      start: '2026-11-28T09:00:00Z',
      participant: [{ actor: { reference: 'Patient/bare' }, status: 'accepted' }],
    } as Resource);
    await odd.store.update({
      resourceType: 'Appointment',
      id: 'a2',
      status: 'booked',
      start: '2026-11-28T09:30:00Z',
      participant: [{ actor: { reference: 'Patient/nowhere', display: 'Walk-in' }, status: 'accepted' }],
    } as Resource);
    await odd.store.update({
      resourceType: 'Appointment',
      id: 'a3',
      status: 'proposed',
      start: '2026-11-28T10:00:00Z',
      participant: [
        {
          actor: { reference: 'https://other.example/fhir/Patient/bare/_history/1' },
          status: 'needs-action',
        },
      ],
    } as Resource);
    await exportDowntime(oddRequest('odd.html'));
    const opened = contentOf(join(folder.path, 'odd.html'));
    const day = opened.days[0];
    assert.equal(day.clinicians[0].name, 'No clinician assigned');
    assert.equal(day.clinicians[0].appointments.length, 3);
    assert.deepEqual(
      day.clinicians[0].appointments.map((a) => [a.localTime, a.status, a.patient]),
      [
        ['09:00', 'booked', 0],
        ['09:30', 'booked', undefined],
        ['10:00', 'proposed', undefined],
      ],
    );
    assert.equal(
      day.clinicians[0].appointments[2].patientLabel,
      'https://other.example/fhir/Patient/bare/_history/1 (no chart in the record)',
      'a patient on another server is not matched to a local chart',
    );
    assert.equal(opened.patients.length, 1);
    assert.equal(opened.patients[0].name, 'Patient bare');
    assert.deepEqual(opened.patients[0].allergies, []);
    assert.match(day.clinicians[0].appointments[1].patientLabel!, /Walk-in \(no chart in the record\)/);
  });

  test('a code that is also a JavaScript property name is an ordinary code', async () => {
    await odd.store.update({
      resourceType: 'Observation',
      id: 'odd-code',
      status: 'final',
      category: [
        {
          coding: [
            { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' },
          ],
        },
      ],
      code: { coding: [{ system: 'urn:local', code: 'constructor' }] },
      subject: { reference: 'Patient/bare' },
      effectiveDateTime: '2019-01-01',
      valueQuantity: { value: 1 },
    } as Resource);
    await exportDowntime(oddRequest('odd-code.html'));
    const chart = contentOf(join(folder.path, 'odd-code.html')).patients[0];
    assert.deepEqual(
      chart.labs.map((s) => s.name),
      ['constructor'],
    );
    await odd.store.delete('Observation', 'odd-code');
  });

  test('a chart with thousands of results stays bounded: the newest 20 per test', async () => {
    const observations: Resource[] = [];
    for (let i = 0; i < 3000; i++) {
      observations.push({
        resourceType: 'Observation',
        id: `glucose-${i}`,
        status: 'final',
        category: [
          {
            coding: [
              { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' },
            ],
          },
        ],
        code: {
          coding: [{ system: 'http://loinc.org', code: i % 2 ? '2345-7' : '4548-4' }],
          text: i % 2 ? 'Glucose' : 'HbA1c',
        },
        subject: { reference: 'Patient/bare' },
        effectiveDateTime: new Date(Date.UTC(2020, 0, 1) + i * 3_600_000).toISOString(),
        valueQuantity: { value: 90 + (i % 40), unit: 'mg/dL' },
      } as Resource);
    }
    // A frequent vital sign, all newer than the labs, must not crowd them out.
    for (let i = 0; i < 3000; i++) {
      observations.push({
        resourceType: 'Observation',
        id: `pulse-${i}`,
        status: 'final',
        category: [
          {
            coding: [
              { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' },
            ],
          },
        ],
        code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
        subject: { reference: 'Patient/bare' },
        effectiveDateTime: new Date(Date.UTC(2021, 0, 1) + i * 60_000).toISOString(),
        valueQuantity: { value: 60 + (i % 30), unit: '/min' },
      } as Resource);
    }
    await odd.store.writeBatch(observations.map((resource) => ({ kind: 'put', resource })));
    const report = await exportDowntime(oddRequest('huge.html'));
    assert.ok(report.seconds < 30);
    const chart = contentOf(join(folder.path, 'huge.html')).patients[0];
    assert.deepEqual(
      chart.labs.map((s) => [s.name, s.points.length]),
      [
        ['Glucose', 20],
        ['HbA1c', 20],
      ],
    );
    assert.equal(
      chart.labs[0].points.at(-1)!.date,
      new Date(Date.UTC(2020, 0, 1) + 2999 * 3_600_000).toISOString(),
    );
    assert.equal(chart.omitted.labs, 3000 - 40);
    assert.deepEqual(
      chart.vitals.map((s) => [s.name, s.points.length]),
      [['Heart rate', 10]],
    );
    assert.ok(report.bytes < 200_000);
  });
});

describe('downtime locations', () => {
  test('copies are written whole, the newest three kept, and an old passphrase’s copies removed', async () => {
    const usb = join(folder.path, 'usb');
    mkdirSync(usb);
    writeFileSync(join(usb, 'notes.txt'), 'not ours');
    // A temporary file left by an export that died two hours ago, and one being written right now.
    const deadTemporary = join(usb, '.chartvault-downtime-20261128-120000Z-00000000.html.1a2b3c4d.tmp');
    const liveTemporary = join(usb, '.chartvault-downtime-20261128-163000Z-00000000.html.5e6f7a8b.tmp');
    writeFileSync(deadTemporary, 'partial');
    utimesSync(deadTemporary, new Date(Date.now() - 7_200_000), new Date(Date.now() - 7_200_000));
    writeFileSync(liveTemporary, 'partial');
    const copies = () =>
      readdirSync(usb)
        .filter((f) => f.startsWith('chartvault-downtime-'))
        .sort();
    for (let hour = 0; hour < 5; hour++) {
      await exportDowntime(
        request({ out: undefined, locations: [usb], now: new Date(NOW.getTime() + hour * 3_600_000) }),
      );
    }
    assert.equal(copies().length, 3);
    assert.ok(copies().every((f) => /^chartvault-downtime-\d{8}-\d{6}Z-[0-9a-f]{8}\.html$/.test(f)));
    assert.ok(copies()[2].includes('20261128-203000Z'), 'the newest is kept');

    const newKey = deriveDowntimeKey('a completely different passphrase now');
    await exportDowntime(
      request({
        out: undefined,
        key: newKey,
        locations: [usb],
        now: new Date(NOW.getTime() + 6 * 3_600_000),
      }),
    );
    assert.equal(copies().length, 1, 'copies that the old passphrase opens are gone');
    assert.ok(existsSync(join(usb, 'notes.txt')), 'other files are not touched');
    assert.ok(!existsSync(deadTemporary), 'a dead export’s temporary file is cleaned up');
    assert.ok(existsSync(liveTemporary), 'a running export’s temporary file is left alone');
    rmSync(liveTemporary);
    const opened = contentOf(join(usb, copies()[0]), 'a completely different passphrase now');
    assert.equal(opened.days[0].localDate, TODAY);
    assert.equal(readdirSync(usb).filter((f) => f.endsWith('.tmp')).length, 0);
    assert.equal(
      statSync(join(usb, copies()[0])).mode & 0o777,
      0o644,
      'encrypted copies are readable by staff accounts',
    );
  });

  test('an unreachable location is reported and the others still get their copy', async () => {
    const good = join(folder.path, 'good');
    mkdirSync(good);
    const missing = join(folder.path, 'unplugged-usb');
    const notAFolder = join(folder.path, 'plain-file');
    writeFileSync(notAFolder, '');
    const report = await exportDowntime(request({ out: undefined, locations: [missing, good, notAFolder] }));
    assert.match(report.locations[0].error!, /does not exist \(is the disk or share mounted\?\)/);
    assert.equal(report.locations[1].error, undefined);
    assert.match(report.locations[2].error!, /not a folder/);
    assert.equal(readdirSync(good).length, 1);
    assert.ok(!existsSync(missing), 'a missing location is not created');
  });

  test('a read-only folder is reported with the fix', async (t) => {
    if (process.getuid?.() === 0) {
      // root ignores permission bits; a path under a regular file fails the same way for everyone.
      const out = join(folder.path, 'plain-file-2', 'x.html');
      writeFileSync(join(folder.path, 'plain-file-2'), '');
      await assert.rejects(
        exportDowntime(request({ out })),
        /Cannot write the downtime file: .*plain-file-2/,
      );
      return t.diagnostic('ran as root: checked a path under a file instead of a read-only folder');
    }
    const locked = join(folder.path, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o500);
    await assert.rejects(
      exportDowntime(request({ out: join(locked, 'x.html') })),
      /cannot write in .*locked.*write access/,
    );
  });
});

describe('the passphrase', () => {
  test('is refused when shorter than 20 characters and fewer than four words, stating the rule', () => {
    assert.match(passphraseProblem('Tr0ub4dor&3')!, /at least 20 characters .*, or at least four words/);
    assert.match(passphraseProblem('only three words')!, /at least 20 characters/);
    assert.equal(passphraseProblem('correct horse battery staple'), undefined);
    assert.equal(passphraseProblem('cat dog sun red'), undefined, 'four words');
    assert.match(passphraseProblem('a b c d')!, /four words of three or more letters/);
    assert.equal(passphraseProblem('Tr0ub4dor&3-Tr0ub4dor'), undefined, '20 characters');
    assert.match(passphraseProblem('aaaaaaaaaaaaaaaaaaaaaaaa')!, /not one character repeated/);
    assert.match(passphraseProblem(' '.repeat(30))!, /too weak/);
    assert.throws(() => checkPassphrase('short'), /four words/);
  });

  test('is read from a file without its line break, and a weak one names the file', () => {
    const file = join(folder.path, 'pass.txt');
    writeFileSync(file, `${PASSPHRASE}\n`, { mode: 0o600 });
    assert.equal(readPassphraseFile(file), PASSPHRASE);
    // A byte-order mark, Windows line ends and surrounding spaces do not change the key.
    writeFileSync(file, `\ufeff  ${PASSPHRASE} \r\n`);
    assert.equal(readPassphraseFile(file), PASSPHRASE);
    writeFileSync(file, Buffer.from('café crème brûlée au lait\n', 'latin1'));
    assert.throws(() => readPassphraseFile(file), /is not UTF-8 text; save the passphrase file as UTF-8/);
    writeFileSync(file, 'hunter2\n');
    assert.throws(() => readPassphraseFile(file), new RegExp(`${file}: The passphrase is too weak`));
    assert.throws(
      () => readPassphraseFile(join(folder.path, 'none.txt')),
      /Cannot read the passphrase file .*none\.txt \(ENOENT\)/,
    );
  });
});

describe('the export schedule', () => {
  const timing = { clinicHours: { start: 7, end: 19 }, nightHour: 2 };
  test('is hourly in clinic hours and once at night, in the practice zone', () => {
    const times: string[] = [];
    let at = new Date('2026-11-28T00:30:00Z');
    for (let i = 0; i < 14; i++) {
      at = nextExportTime(at, timing, 'UTC');
      times.push(at.toISOString().slice(11, 16));
    }
    assert.deepEqual(times, [
      '02:00',
      '07:00',
      '08:00',
      '09:00',
      '10:00',
      '11:00',
      '12:00',
      '13:00',
      '14:00',
      '15:00',
      '16:00',
      '17:00',
      '18:00',
      '02:00',
    ]);
    // 07:00 in Chicago is 13:00 UTC in winter; in Kathmandu (+05:45), 01:15 UTC.
    assert.equal(
      nextExportTime(new Date('2026-11-28T09:00:00Z'), timing, 'America/Chicago').toISOString(),
      '2026-11-28T13:00:00.000Z',
    );
    assert.equal(
      nextExportTime(new Date('2026-11-28T00:00:00Z'), timing, 'Asia/Kathmandu').toISOString(),
      '2026-11-28T01:15:00.000Z',
    );
  });

  test('runs the job at each time, goes on after a failure, and stops when told', async () => {
    const runs: number[] = [];
    const errors: string[] = [];
    const schedule = scheduleExports(
      (after) => new Date(after.getTime() + 50),
      async () => {
        runs.push(Date.now());
        if (runs.length === 1) throw new Error('location full');
      },
      (error) => errors.push((error as Error).message),
    );
    while (runs.length < 3) await new Promise((resolve) => setTimeout(resolve, 20));
    schedule.stop();
    const count = runs.length;
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(runs.length, count, 'no run after stop');
    assert.deepEqual(errors, ['location full']);
  });

  test('a broken schedule is reported, not thrown, and tried again later', () => {
    const errors: string[] = [];
    const before = Date.now();
    const schedule = scheduleExports(
      () => {
        throw new Error('downtime.json is damaged');
      },
      async () => undefined,
      (error) => errors.push((error as Error).message),
    );
    schedule.stop();
    assert.deepEqual(errors, ['downtime.json is damaged']);
    assert.ok(schedule.next().getTime() - before >= 3_600_000 - 1000, 'retried in an hour');
  });
});
