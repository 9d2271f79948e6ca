/**
 * The downtime file as staff use it on the day: made with the command line from the demo practice,
 * opened from file:// in a real headless Chromium with every network request blocked and counted,
 * unlocked, searched, read and printed. Screenshots and the PDF are kept in test-artifacts/downtime.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { openStore } from '../../src/store/index.ts';
import { artifactFolder, launchChromium } from '../browser.ts';
import { tempFolder } from '../testStore.ts';
import { chartvault, demoPractice } from '../cli.ts';

const folder = tempFolder('chartvault-downtime-e2e-');
const data = join(folder.path, 'data');
const keyDir = join(folder.path, 'keys');
const out = join(folder.path, 'downtime.html');
const passphraseFile = join(folder.path, 'passphrase.txt');
const PASSPHRASE = 'harbor lantern quiet meadow';
const FAMILY = 'Quillfeather-Vandersloot';
const GIVEN = 'Bartholomew Xenophon';
const UNUSUAL = `${GIVEN} ${FAMILY}`;
const today = new Date().toISOString().slice(0, 10); // the test runs the practice in UTC
const shots = artifactFolder('downtime');

let browser: Browser | undefined;
let skipReason: string | undefined;
let page: Page;
let blockedRequests: string[] = [];
/** Console errors, which include every request or script the page's Content-Security-Policy refused. */
const consoleErrors: string[] = [];

/** A patient with a long unusual name, seen today, with a medication, an allergy and three HbA1c results. */
function unusualPatientBundle(): object {
  const subject = { reference: 'Patient/downtime-unusual' };
  const hba1c = (id: string, date: string, value: number) => ({
    resourceType: 'Observation',
    id,
    status: 'final',
    category: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' },
        ],
      },
    ],
    code: {
      coding: [{ system: 'http://loinc.org', code: '4548-4', display: 'Hemoglobin A1c' }],
      text: 'HbA1c',
    },
    subject,
    effectiveDateTime: date,
    valueQuantity: { value, unit: '%', system: 'http://unitsofmeasure.org', code: '%' },
    referenceRange: [{ low: { value: 4 }, high: { value: 5.6 } }],
  });
  const resources = [
    {
      resourceType: 'Patient',
      id: 'downtime-unusual',
      active: true,
      identifier: [{ system: 'urn:test:mrn', value: 'MRN-DT-99017' }],
      name: [{ use: 'official', family: FAMILY, given: GIVEN.split(' ') }],
      gender: 'male',
      birthDate: '1958-02-14',
    },
    {
      resourceType: 'Appointment',
      id: 'downtime-unusual-visit',
      status: 'booked',
      start: `${today}T23:15:00Z`,
      end: `${today}T23:45:00Z`,
      description: 'Diabetes follow-up',
      participant: [
        { actor: { reference: 'Patient/downtime-unusual', display: UNUSUAL }, status: 'accepted' },
        {
          actor: { reference: 'Practitioner/demo-prac-01', display: 'Gloria Yates, MD' },
          status: 'accepted',
        },
      ],
    },
    {
      resourceType: 'MedicationRequest',
      id: 'downtime-unusual-med',
      status: 'active',
      intent: 'order',
      medicationCodeableConcept: { text: 'metformin 500 mg tablet' },
      subject,
      authoredOn: '2025-03-01',
      dosageInstruction: [{ text: 'One tablet twice daily with meals' }],
    },
    {
      resourceType: 'AllergyIntolerance',
      id: 'downtime-unusual-allergy',
      clinicalStatus: {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' },
        ],
      },
      code: { text: 'Penicillin' },
      criticality: 'high',
      patient: subject,
      reaction: [{ manifestation: [{ text: 'Hives' }], severity: 'moderate' }],
    },
    hba1c('downtime-unusual-a1c-1', '2025-03-01', 8.1),
    hba1c('downtime-unusual-a1c-2', '2025-09-01', 7.4),
    hba1c('downtime-unusual-a1c-3', '2026-03-01', 6.9),
  ];
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: resources.map((resource) => ({
      resource,
      request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` },
    })),
  };
}

/** `chartvault downtime export` of this test's store to `file`. */
const exportCommand = (file: string, passphrase: string, ...extra: string[]) =>
  chartvault(
    'downtime',
    'export',
    '--data',
    data,
    '--key-dir',
    keyDir,
    '--out',
    file,
    '--passphrase-file',
    passphrase,
    ...extra,
  );

/** A browser context where everything but the file itself is blocked, and counted: a downtime copy must need no network. */
async function offlineContext(): Promise<BrowserContext> {
  const context = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
  context.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  await context.route('**/*', (route) => {
    if (route.request().url().startsWith('file:')) return route.continue();
    blockedRequests.push(route.request().url());
    return route.abort();
  });
  return context;
}

before(async () => {
  const launched = await launchChromium();
  if (typeof launched === 'string') {
    skipReason = launched;
    return;
  }
  browser = launched;
  const demo = demoPractice(data, keyDir, 150, '--time-zone', 'UTC');
  assert.equal(demo.status, 0, demo.stderr);
  const bundle = join(folder.path, 'unusual.json');
  writeFileSync(bundle, JSON.stringify(unusualPatientBundle()));
  const imported = chartvault('import', '--data', data, '--key-dir', keyDir, '--no-progress', bundle);
  assert.equal(imported.status, 0, imported.stdout + imported.stderr);
  writeFileSync(passphraseFile, `${PASSPHRASE}\n`, { mode: 0o600 });
});

after(async () => {
  await browser?.close();
  folder.remove();
});

test('a passphrase weaker than the policy is refused, stating the rule', (t) => {
  if (skipReason) return t.skip(skipReason);
  const weak = join(folder.path, 'weak.txt');
  writeFileSync(weak, 'Summer2026!\n', { mode: 0o600 });
  for (const command of [
    ['downtime', 'setup', '--data', data, '--key-dir', keyDir, '--passphrase-file', weak],
    ['downtime', 'export', '--data', data, '--key-dir', keyDir, '--out', out, '--passphrase-file', weak],
  ]) {
    const result = chartvault(...command);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /at least 20 characters .*, or at least four words/);
    assert.match(result.stderr, /weak\.txt/);
  }
});

test('an unwritable destination is a one-line error naming it', (t) => {
  if (skipReason) return t.skip(skipReason);
  const result = exportCommand(join(folder.path, 'no-such-folder', 'downtime.html'), passphraseFile);
  assert.equal(result.status, 1);
  assert.match(
    result.stderr,
    /^chartvault: Cannot write the downtime file: .*no-such-folder.* does not exist/,
  );
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
});

test('the export command writes one file, under 5 MB, with the unusual name nowhere in it', (t) => {
  if (skipReason) return t.skip(skipReason);
  const result = exportCommand(out, passphraseFile, '--days', '3');
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /3 clinic day\(s\)/);
  assert.doesNotMatch(result.stdout, new RegExp(FAMILY), 'no patient names in the command output');
  const size = statSync(out).size;
  assert.ok(size < 5 * 1024 * 1024, `${size} bytes`);
  const text = readFileSync(out, 'utf8');
  for (const secret of [
    FAMILY,
    'Bartholomew',
    'Xenophon',
    'MRN-DT-99017',
    '1958-02-14',
    'Penicillin',
    'metformin',
  ])
    assert.ok(!text.includes(secret), `${secret} is readable in the file`);
});

test('in Chromium, offline: a wrong passphrase shows nothing; the right one shows the schedule', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const context = await offlineContext();
  page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(pathToFileURL(out).href);
  await page.screenshot({ path: join(shots, '1-locked.png') });

  await page.fill('input[type=password]', 'harbor lantern quiet meadows');
  await page.press('input[type=password]', 'Enter');
  await page.waitForFunction(() =>
    /does not open this copy/.test((globalThis as any).document.getElementById('lock-message').textContent),
  );
  assert.equal(await page.isHidden('#app'), true);
  assert.ok(!(await page.content()).includes(FAMILY));
  await page.screenshot({ path: join(shots, '2-wrong-passphrase.png') });

  const started = Date.now();
  await page.fill('input[type=password]', PASSPHRASE);
  await page.press('input[type=password]', 'Enter');
  await page.waitForSelector('.clinician');
  const unlockMs = Date.now() - started;
  t.diagnostic(`passphrase to schedule: ${unlockMs} ms`);
  assert.ok(unlockMs < 15_000);
  await page.screenshot({ path: join(shots, '3-schedule.png') });
  assert.match(await page.innerText('body'), new RegExp(UNUSUAL));

  // Today's rows, compared with the appointments and patients in the store.
  const { store } = openStore(data, keyDir);
  const { resources: appointments } = await store.search({
    types: ['Appointment'],
    criteria: [],
    sort: [],
    count: 10_000,
    offset: 0,
    total: 'none',
  });
  const names = new Map<string, string>();
  const { resources: patients } = await store.search({
    types: ['Patient'],
    criteria: [],
    sort: [],
    count: 10_000,
    offset: 0,
    total: 'none',
  });
  for (const p of patients as any[]) {
    if ((p.meta?.security ?? []).some((s: any) => s.code === 'R')) continue;
    const name = p.name.find((n: any) => n.use === 'official') ?? p.name[0];
    names.set(`Patient/${p.id}`, [...name.given, name.family].join(' '));
  }
  await store.close();
  const expected = (appointments as any[])
    .filter((a) => a.start.slice(0, 10) === today && a.status !== 'entered-in-error')
    .map((a) => {
      const patient = a.participant.find((p: any) => p.actor.reference.startsWith('Patient/')).actor
        .reference;
      return `${a.start.slice(11, 16)} ${names.get(patient) ?? 'Restricted chart: see the paper record'}`;
    })
    .sort();
  const shown = (
    await page.$$eval('main .clinician tbody tr', (rows) =>
      rows.map((row) => `${row.children[0].textContent!.slice(0, 5)} ${row.children[1].textContent}`),
    )
  ).sort();
  assert.ok(expected.length >= 40, `a demo clinic day has at least 40 appointments (${expected.length})`);
  assert.deepEqual(shown, expected);
  assert.deepEqual(errors, []);
});

test('search by name, open the chart: medications, allergies and a lab trend plot', async (t) => {
  if (skipReason) return t.skip(skipReason);
  await page.keyboard.press('/');
  await page.keyboard.type('quillfeather');
  await page.waitForSelector('#search-results li[role=option]');
  await page.keyboard.press('Enter');
  await page.waitForSelector('.chart h1');
  assert.equal(await page.innerText('.chart h1'), UNUSUAL);
  const chart = await page.innerText('.chart');
  assert.match(chart, /metformin 500 mg tablet/);
  assert.match(chart, /One tablet twice daily with meals/);
  assert.match(chart, /Penicillin \(criticality: high\): Hives \(moderate\)/);
  assert.match(chart, /Born 1958-02-14/);
  const plot = await page.$eval('svg.trend title', (title) => title.textContent);
  assert.match(plot!, /^HbA1c: 8\.1% on 2025-03-01, 7\.4% on 2025-09-01, 6\.9% on 2026-03-01$/);
  assert.equal(
    await page.$$eval(
      'svg.trend polyline.line0',
      (lines) => lines[0].getAttribute('points')!.split(' ').length,
    ),
    3,
  );
  await page.screenshot({ path: join(shots, '4-chart.png'), fullPage: true });

  // By birth date, with the keyboard only, from the schedule.
  await page.keyboard.press('Escape');
  await page.waitForSelector('main .clinician');
  await page.keyboard.press('/');
  await page.keyboard.type('02/14/1958');
  await page.waitForSelector('#search-results li[role=option]');
  await page.keyboard.press('Enter');
  await page.waitForSelector('.chart h1');
  assert.equal(await page.innerText('.chart h1'), UNUSUAL);

  await page.setViewportSize({ width: 820, height: 1180 });
  await page.screenshot({ path: join(shots, '5-chart-tablet.png') });
});

test('a demo patient with repeated labs gets trend plots; the age of the data shows on screen', async (t) => {
  if (skipReason) return t.skip(skipReason);
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.keyboard.press('Escape');
  // The schedule renders after Escape: wait for it, then read the links' targets once.
  await page.waitForSelector('main a.patient');
  const hrefs = await page.$$eval('main a.patient', (links) =>
    links.map((link) => link.getAttribute('href')!),
  );
  assert.ok(hrefs.length > 0);
  let plots = 0;
  for (const href of hrefs) {
    await page.goto(page.url().replace(/#.*$/, '') + href);
    await page.waitForSelector('.chart h1');
    plots = await page.$$eval('svg.trend', (svgs) => svgs.length);
    if (plots > 0 && (await page.innerText('.chart')).includes('Recent lab results')) break;
    await page.goBack();
  }
  assert.ok(plots > 0);
  assert.match(await page.innerText('#asof'), /^Data as of .* \(\d+ minutes? ago\)$/);
  assert.match(await page.innerText('#watermark'), /^Exported by .*\(command line\) at /);
});

test('prints a paper packet: the schedule, then one section per patient, with the data age on every page', async (t) => {
  if (skipReason) return t.skip(skipReason);
  await page.waitForSelector('body[data-packet=ready]', { state: 'attached' });
  const pdfPath = join(shots, 'packet.pdf');
  const pdf = await page.pdf({ path: pdfPath, format: 'Letter' });
  assert.equal(pdf.subarray(0, 5).toString(), '%PDF-');
  const sections = await page.$$eval('.packet-patient', (s) => s.length);
  const patientLinks = await page.$$eval('.packet-patient h1', (h) => h.map((x) => x.textContent));
  assert.ok(patientLinks.includes(UNUSUAL));
  const pageCount = (pdf.toString('latin1').match(/\/Type\s*\/Page\b/g) ?? []).length;
  assert.ok(pageCount > sections, `${pageCount} pages for ${sections} patients`);
  await page.emulateMedia({ media: 'print' });
  await page.screenshot({ path: join(shots, '6-print-view.png') });
  assert.match(
    await page.innerText('.packet .packet-line >> nth=0'),
    /^Data as of .* · exported by .* · confidential$/,
  );
  await page.emulateMedia({ media: 'screen' });
});

test('a copy older than the threshold shows a warning banner', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const context = await offlineContext();
  // Opened ten hours after the export: the page's clock is moved forward.
  await context.addInitScript(() => {
    const realNow = Date.now.bind(Date);
    Date.now = () => realNow() + 10 * 3_600_000;
  });
  const late = await context.newPage();
  await late.goto(pathToFileURL(out).href);
  await late.fill('input[type=password]', PASSPHRASE);
  await late.press('input[type=password]', 'Enter');
  await late.waitForSelector('.clinician');
  assert.equal(await late.isVisible('#stale'), true);
  assert.match(
    await late.innerText('#stale'),
    /^This copy is 10 hours old: anything recorded since .* is missing/,
  );
  assert.match(await late.innerText('#asof'), /\(10 hours ago\)/);
  await late.screenshot({ path: join(shots, '7-stale-banner.png') });
  await context.close();
});

test('nothing was requested from the network, and nothing was kept in browser storage', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const stored = await page.evaluate(() => {
    const browserGlobals = globalThis as any; // this runs in the page, not in Node
    return {
      local: browserGlobals.localStorage.length,
      session: browserGlobals.sessionStorage.length,
      cookie: browserGlobals.document.cookie,
    };
  });
  assert.deepEqual(stored, { local: 0, session: 0, cookie: '' });
  assert.deepEqual(blockedRequests, []);
  assert.deepEqual(consoleErrors, [], 'no request or script was refused by the page policy either');
  blockedRequests = [];
});
