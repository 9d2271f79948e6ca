import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateResource } from '../fhir/validation/index.ts';
import type { Resource } from '../fhir/types.ts';
import { addDays, localDateTime } from './calendar.ts';
import { generateDemoPractice, RESOURCE_ORDER, type DemoOptions } from './index.ts';
import { npi } from './practice.ts';
import { Random } from './random.ts';

// 2026-03-08 is the US spring-forward Sunday: the New York fortnight crosses it. Kolkata has no
// DST but a half-hour offset, which catches offset formatting mistakes.
const NEW_YORK: DemoOptions = { today: '2026-03-02', timeZone: 'America/New_York' };
const KOLKATA: DemoOptions = { today: '2026-03-02', timeZone: 'Asia/Kolkata' };

const cache = new Map<string, Resource[]>();
function demo(opts: DemoOptions): Resource[] {
  const key = JSON.stringify(opts);
  let out = cache.get(key);
  if (!out) {
    out = generateDemoPractice(opts);
    cache.set(key, out);
  }
  return out;
}

const ofType = (rs: Resource[], type: string) => rs.filter((r) => r.resourceType === type);
type Json = Record<string, any>;

/** Every `reference` string anywhere inside a resource. */
function references(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const x of node) references(x, out);
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'reference' && typeof v === 'string') out.push(v);
      else references(v, out);
    }
  }
  return out;
}

const formats = new Map<string, Intl.DateTimeFormat>();
function format(kind: 'date' | 'clock', timeZone: string): Intl.DateTimeFormat {
  const key = `${kind}|${timeZone}`;
  let f = formats.get(key);
  if (!f) {
    // en-CA writes dates as YYYY-MM-DD; en-GB with h23 writes clocks as HH:MM.
    f =
      kind === 'date'
        ? new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })
        : new Intl.DateTimeFormat('en-GB', {
            timeZone,
            hour: '2-digit',
            minute: '2-digit',
            hourCycle: 'h23',
          });
    formats.set(key, f);
  }
  return f;
}
const localDate = (instant: string, timeZone: string) => format('date', timeZone).format(new Date(instant));
const localClock = (instant: string, timeZone: string) => format('clock', timeZone).format(new Date(instant));

const isActive = (a: Json) => a.status !== 'cancelled' && a.status !== 'entered-in-error';

test('the same options give byte-identical output; another seed gives another practice', () => {
  const t0 = performance.now();
  const first = JSON.stringify(generateDemoPractice(NEW_YORK));
  const elapsed = performance.now() - t0;
  const second = JSON.stringify(demo(NEW_YORK));
  assert.equal(first, second);
  const other = generateDemoPractice({ ...NEW_YORK, seed: 7, patients: 120 });
  const names = (rs: Resource[]) =>
    ofType(rs, 'Patient')
      .slice(0, 20)
      .map((p) => JSON.stringify((p as Json).name));
  assert.notDeepEqual(names(other), names(demo(NEW_YORK)));
  console.log(`generated ${demo(NEW_YORK).length} resources in ${Math.round(elapsed)} ms`);
});

test('the panel has at least 300 patients with MRNs, contacts and a general practitioner', () => {
  const patients = ofType(demo(NEW_YORK), 'Patient') as Json[];
  assert.ok(patients.length >= 300, `${patients.length} patients`);
  const mrns = new Set(patients.map((p) => p.identifier[0].value));
  assert.equal(mrns.size, patients.length);
  for (const p of patients) {
    assert.equal(p.identifier[0].system, 'urn:chartvault:demo:mrn');
    assert.ok(p.contact?.[0]?.relationship?.length && p.contact[0].name, `${p.id} has a contact`);
    assert.match(p.generalPractitioner[0].reference, /^Practitioner\//);
  }
  const ages = patients.map((p) => 2026 - Number(p.birthDate.slice(0, 4)));
  assert.ok(ages.some((a) => a < 5) && ages.some((a) => a > 80), 'ages span children to the very old');
});

for (const opts of [NEW_YORK, KOLKATA]) {
  test(`at least 40 appointments on each of the 14 days from today in ${opts.timeZone}, with the right offsets`, () => {
    const appointments = ofType(demo(opts), 'Appointment') as Json[];
    const perDay = new Map<string, number>();
    for (const a of appointments) {
      // The offset written must be the zone's offset on that date: the wall time it states
      // is the wall time Intl computes for the instant.
      assert.equal(a.start.slice(11, 16), localClock(a.start, opts.timeZone), `${a.id} start ${a.start}`);
      assert.equal(a.end.slice(11, 16), localClock(a.end, opts.timeZone), `${a.id} end ${a.end}`);
      if (isActive(a))
        perDay.set(
          localDate(a.start, opts.timeZone),
          (perDay.get(localDate(a.start, opts.timeZone)) ?? 0) + 1,
        );
    }
    for (let i = 0; i < 14; i++) {
      const day = addDays(opts.today, i);
      assert.ok((perDay.get(day) ?? 0) >= 40, `${day}: ${perDay.get(day) ?? 0} appointments`);
    }
    const past = appointments.filter((a) => a.start < opts.today);
    for (const status of ['fulfilled', 'noshow', 'cancelled']) {
      assert.ok(
        past.some((a) => a.status === status),
        `some past appointments are ${status}`,
      );
    }
    const future = appointments.filter((a) => localDate(a.start, opts.timeZone) > opts.today && isActive(a));
    assert.ok(future.every((a) => a.status === 'booked'));
  });
}

test('daylight saving time: New York appointments switch from -05:00 to -04:00 on 2026-03-08', () => {
  const appointments = ofType(demo(NEW_YORK), 'Appointment') as Json[];
  const offsets = (day: string) =>
    new Set(appointments.filter((a) => a.start.startsWith(day)).map((a) => a.start.slice(19)));
  assert.deepEqual([...offsets('2026-03-07')], ['-05:00']);
  assert.deepEqual([...offsets('2026-03-09')], ['-04:00']);
  assert.equal(localDateTime('2026-03-08', 9 * 60, 'America/New_York'), '2026-03-08T09:00:00-04:00');
  assert.equal(localDateTime('2026-03-08', 60, 'America/New_York'), '2026-03-08T01:00:00-05:00');
  assert.equal(localDateTime('2026-03-02', 9 * 60 + 30, 'Asia/Kolkata'), '2026-03-02T09:30:00+05:30');
});

test('no clinician is double-booked, and booked slots are busy', () => {
  const resources = demo(NEW_YORK);
  const byClinician = new Map<string, Json[]>();
  for (const a of ofType(resources, 'Appointment') as Json[]) {
    if (!isActive(a)) continue;
    const who = a.participant.find((p: Json) => p.actor.reference.startsWith('Practitioner/')).actor
      .reference;
    byClinician.set(who, [...(byClinician.get(who) ?? []), a]);
  }
  assert.ok(byClinician.size >= 3);
  for (const [who, list] of byClinician) {
    list.sort((x, y) => Date.parse(x.start) - Date.parse(y.start));
    for (let i = 1; i < list.length; i++) {
      assert.ok(
        Date.parse(list[i - 1].end) <= Date.parse(list[i].start),
        `${who}: ${list[i - 1].id} overlaps ${list[i].id}`,
      );
    }
  }
  const slots = new Map((ofType(resources, 'Slot') as Json[]).map((s) => [`Slot/${s.id}`, s]));
  for (const a of ofType(resources, 'Appointment') as Json[]) {
    for (const s of a.slot ?? [])
      assert.equal(slots.get(s.reference)?.status, 'busy', `${a.id} -> ${s.reference}`);
  }
});

test('every reference points to a generated resource that comes earlier in the list', () => {
  const seen = new Set<string>();
  const resources = demo(NEW_YORK);
  let count = 0;
  for (const r of resources) {
    for (const target of references(r)) {
      assert.ok(seen.has(target), `${r.resourceType}/${r.id} -> ${target} is missing or comes later`);
      count++;
    }
    seen.add(`${r.resourceType}/${r.id}`);
  }
  assert.ok(count > 100_000, `${count} references checked`);
  const order = resources.map((r) =>
    RESOURCE_ORDER.indexOf(r.resourceType as (typeof RESOURCE_ORDER)[number]),
  );
  assert.ok(
    order.every((x, i) => x >= 0 && (i === 0 || x >= order[i - 1])),
    'grouped in RESOURCE_ORDER',
  );
});

test('ids are valid FHIR ids, stable and unique per type', () => {
  const seen = new Set<string>();
  for (const r of demo(NEW_YORK)) {
    assert.match(r.id ?? '', /^[A-Za-z0-9\-.]{1,64}$/);
    const key = `${r.resourceType}/${r.id}`;
    assert.ok(!seen.has(key), `duplicate ${key}`);
    seen.add(key);
  }
});

test('chronic patients have lab series with reference ranges, and treatment bends the HbA1c curve', () => {
  const resources = demo(NEW_YORK);
  const byPatient = new Map<string, Json[]>();
  for (const o of ofType(resources, 'Observation') as Json[]) {
    if (o.category[0].coding[0].code !== 'laboratory') continue;
    byPatient.set(o.subject.reference, [...(byPatient.get(o.subject.reference) ?? []), o]);
  }
  const longStanding = (snomed: string) =>
    (ofType(resources, 'Condition') as Json[]).filter(
      (c) => c.code.coding[0].code === snomed && c.recordedDate.slice(0, 10) <= addDays('2026-03-02', -540),
    );
  for (const [snomed, loinc, label] of [
    ['44054006', '4548-4', 'HbA1c in diabetes'],
    ['55822004', '13457-7', 'LDL in hyperlipidemia'],
    ['38341003', '2160-0', 'creatinine in hypertension'],
  ]) {
    const conditions = longStanding(snomed);
    assert.ok(conditions.length >= 10, `${conditions.length} patients with long-standing ${label}`);
    for (const c of conditions) {
      const series = (byPatient.get(c.subject.reference) ?? []).filter(
        (o) => o.code.coding[0].code === loinc,
      );
      assert.ok(series.length >= 3, `${c.subject.reference}: ${series.length} points of ${label}`);
      for (const o of series) {
        assert.ok(o.referenceRange?.[0]?.low || o.referenceRange?.[0]?.high, `${o.id} has a reference range`);
        assert.match(o.interpretation[0].coding[0].code, /^[HLN]$/);
      }
    }
  }
  // Diabetics diagnosed here: HbA1c a year into treatment is lower than at diagnosis for most.
  let improved = 0;
  let diagnosedHere = 0;
  for (const c of longStanding('44054006')) {
    const series = (byPatient.get(c.subject.reference) ?? [])
      .filter((o) => o.code.coding[0].code === '4548-4')
      .sort((a, b) => (a.effectiveDateTime < b.effectiveDateTime ? -1 : 1));
    const atDiagnosis = series.find((o) => o.effectiveDateTime.slice(0, 10) === c.recordedDate.slice(0, 10));
    const later = series.find(
      (o) => o.effectiveDateTime.slice(0, 10) >= addDays(c.recordedDate.slice(0, 10), 300),
    );
    if (!atDiagnosis || !later || atDiagnosis.valueQuantity.value < 6.5) continue;
    diagnosedHere++;
    if (later.valueQuantity.value < atDiagnosis.valueQuantity.value) improved++;
  }
  assert.ok(
    diagnosedHere >= 5 && improved / diagnosedHere >= 0.7,
    `${improved} of ${diagnosedHere} improved`,
  );
});

test('a few charts are restricted, and the label travels with their resources', () => {
  const resources = demo(NEW_YORK);
  const restricted = (ofType(resources, 'Patient') as Json[]).filter((p) =>
    p.meta?.security?.some(
      (s: Json) => s.system === 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality' && s.code === 'R',
    ),
  );
  assert.ok(restricted.length >= 2 && restricted.length <= 15, `${restricted.length} restricted charts`);
  const ids = new Set(restricted.map((p) => `Patient/${p.id}`));
  for (const r of resources as Json[]) {
    const subject = r.subject?.reference ?? r.patient?.reference ?? r.for?.reference;
    if (subject && ids.has(subject))
      assert.equal(r.meta?.security?.[0]?.code, 'R', `${r.resourceType}/${r.id}`);
  }
});

test('advance directives exist as documents and as adr consents', () => {
  const resources = demo(NEW_YORK) as Json[];
  const documents = resources.filter(
    (r) => r.resourceType === 'DocumentReference' && r.type.coding[0].code === '42348-3',
  );
  const consents = resources.filter((r) => r.resourceType === 'Consent' && r.scope.coding[0].code === 'adr');
  assert.ok(documents.length >= 3 && documents.length <= 30, `${documents.length} advance directives`);
  assert.equal(consents.length, documents.length);
  const docIds = new Set(documents.map((d) => `DocumentReference/${d.id}`));
  for (const c of consents) assert.ok(docIds.has(c.sourceReference.reference));
});

test('referrals close the loop: completed tasks carry the consult note', () => {
  const resources = demo(NEW_YORK) as Json[];
  const requests = resources.filter((r) => r.resourceType === 'ServiceRequest');
  const tasks = resources.filter((r) => r.resourceType === 'Task');
  assert.ok(requests.length >= 20, `${requests.length} referrals`);
  assert.equal(tasks.length, requests.length);
  const notes = new Map(
    resources
      .filter((r) => r.resourceType === 'DocumentReference')
      .map((d) => [`DocumentReference/${d.id}`, d]),
  );
  const statuses = new Set(tasks.map((t) => t.status));
  assert.ok(statuses.has('completed') && (statuses.has('requested') || statuses.has('accepted')));
  for (const t of tasks.filter((x) => x.status === 'completed')) {
    const note = notes.get(t.output[0].valueReference.reference);
    assert.equal(note?.type.coding[0].code, '11488-4');
    assert.ok(t.note?.[0]?.text);
  }
  const progress = [...notes.values()].find((d) => d.type.coding[0].code === '11506-3');
  const text = Buffer.from(progress?.content[0].attachment.data, 'base64').toString('utf8');
  assert.match(text, /^S:$/m);
  assert.match(text, /^P:$/m);
});

test('every resource passes validateResource', () => {
  // All of New York; from Kolkata the resources whose times depend on the zone's offset.
  const zoned = new Set(['Schedule', 'Slot', 'Appointment', 'Encounter']);
  for (const resources of [demo(NEW_YORK), demo(KOLKATA).filter((r) => zoned.has(r.resourceType))]) {
    const problems: string[] = [];
    for (const r of resources) {
      for (const issue of validateResource(r)) {
        if (issue.severity === 'error' || issue.severity === 'fatal') {
          problems.push(`${r.resourceType}/${r.id}: ${issue.expression?.[0]} ${issue.diagnostics}`);
        }
      }
    }
    assert.deepEqual(problems.slice(0, 10), [], `${problems.length} validation errors`);
  }
});

test('practitioners carry valid NPIs; bad options are refused with a clear message', () => {
  for (const p of ofType(demo(NEW_YORK), 'Practitioner') as Json[]) {
    const id = p.identifier[0];
    if (id.system !== 'http://hl7.org/fhir/sid/us-npi') continue;
    // Luhn over 80840 + the ten digits.
    const digits = `80840${id.value}`.split('').map(Number).reverse();
    const sum = digits.reduce((s, d, i) => s + (i % 2 ? (d * 2 > 9 ? d * 2 - 9 : d * 2) : d), 0);
    assert.equal(sum % 10, 0, `${p.id} NPI ${id.value}`);
  }
  assert.equal(npi(new Random('x')).length, 10);
  assert.throws(
    () => generateDemoPractice({ today: '2026-02-30', timeZone: 'America/New_York' }),
    /today must be a date/,
  );
  assert.throws(
    () => generateDemoPractice({ today: '2026-03-02', timeZone: 'Mars/Olympus' }),
    /unknown time zone/,
  );
  assert.throws(() => generateDemoPractice({ ...NEW_YORK, patients: 0 }), /patients must be/);
});

test('nothing in the charts is dated after the snapshot moment (today 10:30 local)', () => {
  const now = Date.parse(localDateTime(NEW_YORK.today, 10 * 60 + 30, NEW_YORK.timeZone));
  const notAfterNow = (value: unknown, what: string) => {
    if (typeof value !== 'string') return;
    const instant =
      value.length === 10 ? Date.parse(`${value}T00:00:00Z`) - 14 * 3600_000 : Date.parse(value);
    assert.ok(instant <= now, `${what} = ${value}`);
  };
  for (const r of demo(NEW_YORK) as Json[]) {
    const what = `${r.resourceType}/${r.id}`;
    notAfterNow(r.period?.end, `${what}.period.end`);
    notAfterNow(r.effectiveDateTime, `${what}.effectiveDateTime`);
    notAfterNow(r.issued, `${what}.issued`);
    notAfterNow(r.recordedDate, `${what}.recordedDate`);
    notAfterNow(r.authoredOn, `${what}.authoredOn`);
    notAfterNow(r.lastModified, `${what}.lastModified`);
    notAfterNow(r.occurrenceDateTime, `${what}.occurrenceDateTime`);
    notAfterNow(r.recorded, `${what}.recorded`);
    notAfterNow(r.created, `${what}.created`);
    notAfterNow(r.abatementDateTime, `${what}.abatementDateTime`);
    if (r.resourceType === 'DocumentReference') notAfterNow(r.date, `${what}.date`);
  }
});
