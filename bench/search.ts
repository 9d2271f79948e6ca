/**
 * Search latency at a million resources: common clinical queries over real HTTP against
 * `chartvault serve` (a child process on 127.0.0.1, its peak memory read from /proc), each beside the
 * same lookup written by hand as SQL on the same database, measured in the same run. The store is built
 * once and cached (bench/searchData.ts).
 *
 * Each query runs with several values (patients, codes, practitioners), one request at a time after a
 * warm-up; HTTP and SQL alternate, so that the load of a shared machine weighs on both alike.
 *
 *   node --import tsx bench/search.ts [--quick]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Connection } from '../src/store/sqlite/connection.ts';
import { CliClientFetch } from './benchClient.ts';
import { CLI, flags, format, isMain, machine, printFigure, type Figure } from './common.ts';
import { benchStore, rawConnection, utcDay } from './searchData.ts';

const GOAL_P95_MS = 50;
const MEMORY_LIMIT_MB = 512;
const LOINC = 'http://loinc.org';
const SNOMED = 'http://snomed.info/sct';

/** One clinical query: the HTTP request and the SQL that does the same lookup, for each of its values. */
interface Query {
  name: string;
  cases: Case[];
}

interface Case {
  path: string;
  /** Measure the page this far on, reached from `path` by `next` links (the path is resolved first). */
  followTo?: number;
  sql: string;
  params: unknown[];
}

interface Latencies {
  http: number[];
  sql: number[];
}

/** Every request carries a token, as any client's must (renewed when it runs out). */
let client: CliClientFetch;

export async function runSearch(options = flags()): Promise<Figure[]> {
  console.log(`search benchmark on ${machine()}`);
  const bench = await benchStore((line) => console.log(line));
  const db = rawConnection(bench.data, bench.keys);
  const queries = clinicalQueries(db, utcDay(Date.now()));
  const server = await startServer(bench.data, bench.keys);
  client = new CliClientFetch(bench.data, bench.keys, server.base);
  console.log(
    `  ${format(bench.marker.resources)} resources (built in ${format(bench.marker.buildSeconds)} s), ` +
      `server pid ${server.child.pid}, ${server.base}`,
  );
  const iterations = options.quick ? 20 : 100;
  const results = new Map<string, Latencies>();
  try {
    for (const query of queries) {
      for (const c of query.cases) if (c.followTo) c.path = await followNext(server.base, c.path, c.followTo);
      await checkSameResults(server.base, db, query);
      const measured: Latencies = { http: [], sql: [] };
      for (const c of query.cases.slice(0, 3)) {
        await timeHttp(server.base, c.path);
        timeSql(db, c.sql, c.params);
      }
      const started = performance.now();
      for (let i = 0; i < iterations; i++) {
        const c = query.cases[i % query.cases.length]!;
        // A practice writes all day: one write before each search, so that no total counted for an
        // earlier request can be reused (the server keeps totals only while the data is unchanged).
        await writeBetween(server.base, i);
        measured.http.push(await timeHttp(server.base, c.path));
        measured.sql.push(timeSql(db, c.sql, c.params));
        // A slow query gets fewer runs, so that one bad plan does not hold the whole benchmark.
        if (i >= 19 && performance.now() - started > 30_000) break;
      }
      results.set(query.name, measured);
      const [h50, h95, s50, s95] = [
        percentile(measured.http, 50),
        percentile(measured.http, 95),
        percentile(measured.sql, 50),
        percentile(measured.sql, 95),
      ];
      console.log(
        `  ${query.name.padEnd(44)} HTTP p50 ${ms(h50)} p95 ${ms(h95)}   SQL p50 ${ms(s50)} p95 ${ms(s95)}   ` +
          `${format(h50 / s50, 1)}x / ${format(h95 / s95, 1)}x of SQL  (${measured.http.length} runs)`,
      );
    }
  } finally {
    db.close();
  }
  const peakRssMb = server.peakRssMb();
  server.child.kill();

  const figures: Figure[] = [];
  for (const [name, measured] of results) {
    const p95 = percentile(measured.http, 95);
    figures.push(
      { name: `${name} p95`, value: p95, unit: 'ms', goal: { value: GOAL_P95_MS, higherIsBetter: false } },
      {
        name: `${name} p50`,
        value: percentile(measured.http, 50),
        unit: 'ms',
        baseline: { name: 'SQL p50', value: percentile(measured.sql, 50) },
      },
    );
  }
  figures.push({
    name: 'peak memory of the server (VmHWM)',
    value: peakRssMb,
    unit: 'MB',
    goal: { value: MEMORY_LIMIT_MB, higherIsBetter: false },
  });
  console.log();
  figures.forEach(printFigure);
  return figures;
}

/**
 * The queries of the issue, each with values drawn from the data: patients, codes and practitioners
 * spread over the whole store. The SQL is what a developer would write by hand against the index
 * tables for the same page of results (and included resources).
 */
function clinicalQueries(db: Connection, today: string): Query[] {
  const pid = (type: string, code: string) => {
    const found = db
      .prepare('SELECT pid FROM search_param WHERE type = ? AND code = ?')
      .pluck()
      .get(type, code);
    if (found === undefined) throw new Error(`no index rows for ${type}.${code}`);
    return found as number;
  };
  const body = 'SELECT r.id, v.body FROM resource r JOIN resource_version v ON v.vid = r.vid';
  const patients = db
    .prepare(
      `SELECT r.id, v.body FROM resource r JOIN resource_version v ON v.vid = r.vid
       WHERE r.type = 'Patient' AND r.deleted = 0 AND r.rid % 97 = 0 ORDER BY r.rid LIMIT 20`,
    )
    .all() as { id: string; body: string }[];
  const dayRange = (day: string) => [Date.parse(day), Date.parse(day) + 86_400_000];
  const prefix = (text: string) => {
    const norm = text.toLowerCase();
    return [norm, norm + '\uffff'];
  };

  // 1. Patient by family name and birth date.
  const byName: Query = {
    name: 'Patient?name=&birthdate=',
    cases: patients.map(({ body: json }) => {
      const patient = JSON.parse(json) as { name: { family: string }[]; birthDate: string };
      const family = patient.name[0]!.family;
      return {
        path: `/Patient?name=${encodeURIComponent(family)}&birthdate=${patient.birthDate}`,
        sql: `${body} WHERE r.rid IN (SELECT rid FROM idx_string WHERE pid = ? AND norm >= ? AND norm < ?)
              AND r.rid IN (SELECT rid FROM idx_date WHERE pid = ? AND start >= ? AND start < ?)
              AND r.deleted = 0 ORDER BY r.rid LIMIT 50`,
        params: [
          pid('Patient', 'name'),
          ...prefix(family),
          pid('Patient', 'birthdate'),
          ...dayRange(patient.birthDate),
        ],
      };
    }),
  };

  // 2. A patient's Observations of a code, newest first: the patient's most frequent code.
  const mostFrequentCode = db.prepare(
    `SELECT t.code FROM idx_reference p JOIN idx_token t ON t.rid = p.rid AND t.pid = ?
     AND t.system = ? WHERE p.pid = ? AND p.ref = ? GROUP BY t.code ORDER BY count(*) DESC LIMIT 1`,
  );
  const observations: Query = {
    name: 'Observation?patient=&code=&_sort=-date',
    cases: patients.map(({ id }) => {
      const code = mostFrequentCode
        .pluck()
        .get(pid('Observation', 'code'), LOINC, pid('Observation', 'patient'), `Patient/${id}`);
      return {
        path: `/Observation?patient=Patient/${id}&code=${encodeURIComponent(`${LOINC}|${code}`)}&_sort=-date`,
        sql: `${body} WHERE r.rid IN (SELECT p.rid FROM idx_reference p JOIN idx_token c ON c.rid = p.rid
                AND c.pid = ? AND c.code = ? AND c.system = ? WHERE p.pid = ? AND p.ref = ?)
              AND r.deleted = 0
              ORDER BY (SELECT max(d.start) FROM idx_date d WHERE d.rid = r.rid AND d.pid = ?) DESC, r.rid DESC LIMIT 50`,
        params: [
          pid('Observation', 'code'),
          code,
          LOINC,
          pid('Observation', 'patient'),
          `Patient/${id}`,
          pid('Observation', 'date'),
        ],
      };
    }),
  };

  // 3. Today's appointments of a practitioner, with their patients.
  const [dayStart, dayEnd] = dayRange(today);
  const bookedPractitioners = db
    .prepare(
      `SELECT DISTINCT x.ref FROM idx_date d JOIN idx_reference x ON x.rid = d.rid AND x.pid = ?
       WHERE d.pid = ? AND d.start >= ? AND d.start < ? ORDER BY x.ref`,
    )
    .pluck()
    .all(pid('Appointment', 'practitioner'), pid('Appointment', 'date'), dayStart, dayEnd) as string[];
  const appointments: Query = {
    name: 'Appointment?practitioner=&date=today&_include',
    cases: bookedPractitioners.map((ref) => ({
      path: `/Appointment?practitioner=${ref}&date=${today}&_include=Appointment:patient`,
      sql: `WITH a AS (SELECT rid FROM idx_reference WHERE pid = ? AND ref = ?
                       INTERSECT SELECT rid FROM idx_date WHERE pid = ? AND start >= ? AND start < ?)
            SELECT * FROM (${body} WHERE r.rid IN (SELECT rid FROM a) AND r.deleted = 0 ORDER BY r.rid LIMIT 50)
            UNION ALL
            ${body} WHERE r.type = 'Patient' AND r.deleted = 0 AND r.id IN
              (SELECT x.target_id FROM idx_reference x WHERE x.pid = ? AND x.rid IN (SELECT rid FROM a))`,
      params: [
        pid('Appointment', 'practitioner'),
        ref,
        pid('Appointment', 'date'),
        dayStart,
        dayEnd,
        pid('Appointment', 'patient'),
      ],
    })),
  };

  // 4. Conditions of a code, with their patients: codes from the most to the less frequent.
  const conditionCodes = db
    .prepare(
      `SELECT code FROM idx_token WHERE pid = ? AND system = ? GROUP BY code ORDER BY count(*) DESC LIMIT 40`,
    )
    .pluck()
    .all(pid('Condition', 'code'), SNOMED) as string[];
  const someCodes = conditionCodes.filter((_, i) => i % 2 === 0);
  const conditions: Query = {
    name: 'Condition?code=&_include=Condition:patient',
    cases: someCodes.map((code) => ({
      path: `/Condition?code=${encodeURIComponent(`${SNOMED}|${code}`)}&_include=Condition:patient`,
      sql: `WITH c AS (SELECT r.rid FROM resource r WHERE r.rid IN
                         (SELECT rid FROM idx_token WHERE pid = ? AND code = ? AND system = ?)
                       AND r.deleted = 0 ORDER BY r.rid LIMIT 50)
            ${body} WHERE r.rid IN (SELECT rid FROM c)
            UNION ALL
            ${body} WHERE r.type = 'Patient' AND r.deleted = 0 AND r.id IN
              (SELECT x.target_id FROM idx_reference x WHERE x.pid = ? AND x.rid IN (SELECT rid FROM c))`,
      params: [pid('Condition', 'code'), code, SNOMED, pid('Condition', 'patient')],
    })),
  };

  // 5. Two-level chain: encounters of the patients whose general practitioner has a family name.
  const practitionerFamilies = db
    .prepare(
      `SELECT DISTINCT json_extract(v.body, '$.name[0].family') FROM resource r JOIN resource_version v ON v.vid = r.vid
       WHERE r.type = 'Practitioner' AND r.deleted = 0 AND r.id IN
         (SELECT DISTINCT target_id FROM idx_reference WHERE pid = ?) ORDER BY r.rid LIMIT 20`,
    )
    .pluck()
    .all(pid('Patient', 'general-practitioner')) as string[];
  const chain: Query = {
    name: 'Encounter?subject:Patient.general-practitioner.name=',
    cases: practitionerFamilies.map((family) => ({
      path: `/Encounter?subject:Patient.general-practitioner:Practitioner.name=${encodeURIComponent(family)}`,
      sql: `${body} WHERE r.rid IN (SELECT e.rid FROM idx_string n
                JOIN resource pr ON pr.rid = n.rid
                JOIN idx_reference g ON g.pid = ? AND g.ref = 'Practitioner/' || pr.id
                JOIN resource p ON p.rid = g.rid
                JOIN idx_reference e ON e.pid = ? AND e.ref = 'Patient/' || p.id
                WHERE n.pid = ? AND n.norm >= ? AND n.norm < ?)
              AND r.deleted = 0 ORDER BY r.rid LIMIT 50`,
      params: [
        pid('Patient', 'general-practitioner'),
        pid('Encounter', 'subject'),
        pid('Practitioner', 'name'),
        ...prefix(family),
      ],
    })),
  };

  // 6. Reverse chain: patients who have a Condition of a code.
  const has: Query = {
    name: 'Patient?_has:Condition:patient:code=',
    cases: someCodes.map((code) => ({
      path: `/Patient?_has:Condition:patient:code=${code}`,
      sql: `${body} WHERE r.type = 'Patient' AND r.deleted = 0 AND r.id IN
              (SELECT x.target_id FROM idx_token c JOIN idx_reference x ON x.rid = c.rid AND x.pid = ?
               WHERE c.pid = ? AND c.code = ?)
            ORDER BY r.rid LIMIT 50`,
      params: [pid('Condition', 'patient'), pid('Condition', 'code'), code],
    })),
  };

  // 7. Paging to the 50th page of 50 Observations: all of them in storage order, and those of a code
  // newest first; by `_offset`, and by following `next` links (cursors) as a client pages.
  const observationPage = (offset: number, sql: string, params: unknown[]) =>
    db.prepare(sql).get(...params, offset) as { rid: number; start: number };
  // NOT INDEXED: in storage order, the first 2,500 Observations are among the first 6,000 rows; the
  // type's index would make SQLite read and sort all 450,000 of them.
  const byRid = `SELECT r.rid, r.id, v.body FROM resource r NOT INDEXED JOIN resource_version v ON v.vid = r.vid
                 WHERE r.type = 'Observation' AND r.deleted = 0`;
  const plain = `${byRid} ORDER BY r.rid LIMIT 1 OFFSET ?`;
  const lastOf49 = observationPage(49 * 50 - 1, plain, []).rid;
  const page50: Query = {
    name: 'Observation page 50, _offset',
    cases: [
      {
        path: '/Observation?_count=50&_offset=2450',
        sql: `${byRid} ORDER BY r.rid LIMIT 50 OFFSET 2450`,
        params: [],
      },
    ],
  };
  const page50Linked: Query = {
    name: 'Observation page 50, next links',
    cases: [
      {
        path: '/Observation?_count=50',
        followTo: 50,
        sql: `${byRid} AND r.rid > ? ORDER BY r.rid LIMIT 50`,
        params: [lastOf49],
      },
    ],
  };
  const observationCodes = db
    .prepare(
      `SELECT code FROM idx_token WHERE pid = ? AND system = ? GROUP BY code ORDER BY count(*) DESC LIMIT 5`,
    )
    .pluck()
    .all(pid('Observation', 'code'), LOINC) as string[];
  // Walks the dates from the newest (CROSS JOIN keeps that order), keeping those of the code, and reads
  // the bodies of the page only: no sort of all the code's rows.
  const newestFirst = (where: string, limit: string) =>
    `SELECT q.rid, r.id, q.start, v.body FROM
       (SELECT d.rid, d.start FROM idx_date d
          CROSS JOIN idx_token t ON t.rid = d.rid AND t.pid = ? AND t.code = ? AND t.system = ?
        WHERE d.pid = ? ${where} ORDER BY d.start DESC, d.rid DESC LIMIT ${limit}) q
     CROSS JOIN resource r ON r.rid = q.rid AND r.deleted = 0
     JOIN resource_version v ON v.vid = r.vid ORDER BY q.start DESC, q.rid DESC`;
  const sortedPage50: Query = {
    name: 'Observation?code=&_sort=-date page 50, _offset',
    cases: observationCodes.map((code) => ({
      path: `/Observation?code=${encodeURIComponent(`${LOINC}|${code}`)}&_sort=-date&_count=50&_offset=2450`,
      sql: newestFirst('', '50 OFFSET 2450'),
      params: [pid('Observation', 'code'), code, LOINC, pid('Observation', 'date')],
    })),
  };
  const sortedPage50Linked: Query = {
    name: 'Observation?code=&_sort=-date page 50, next links',
    // Two codes: reaching page 50 takes 49 requests, each as slow as the search is.
    cases: observationCodes.slice(0, 2).map((code) => {
      const params = [pid('Observation', 'code'), code, LOINC, pid('Observation', 'date')];
      const last = observationPage(49 * 50 - 1, newestFirst('', '1 OFFSET ?'), params);
      return {
        path: `/Observation?code=${encodeURIComponent(`${LOINC}|${code}`)}&_sort=-date&_count=50`,
        followTo: 50,
        sql: newestFirst('AND d.start <= ? AND (d.start < ? OR d.rid < ?)', '50'),
        params: [...params, last.start, last.start, last.rid],
      };
    }),
  };
  return [
    byName,
    observations,
    appointments,
    conditions,
    chain,
    has,
    page50,
    page50Linked,
    sortedPage50,
    sortedPage50Linked,
  ];
}

/** The first case of a query must find the same resources over HTTP as by SQL; a warning otherwise. */
async function checkSameResults(base: string, db: Connection, query: Query): Promise<void> {
  const c = query.cases[0];
  if (!c) throw new Error(`${query.name}: no value to search with in the data`);
  const response = await client.fetch(base + c.path);
  if (!response.ok) throw new Error(`${c.path}: HTTP ${response.status} ${await response.text()}`);
  const bundle = (await response.json()) as { entry?: { resource: { resourceType: string; id: string } }[] };
  const viaHttp = (bundle.entry ?? [])
    .filter((e) => e.resource.resourceType !== 'OperationOutcome')
    .map((e) => e.resource.id)
    .sort();
  const viaSql = (db.prepare(c.sql).all(...c.params) as { id: string }[]).map((r) => r.id).sort();
  if (viaHttp.length === 0) console.log(`  warning: ${c.path} found nothing`);
  if (viaHttp.join() !== viaSql.join())
    console.log(
      `  warning: ${c.path}: ${viaHttp.length} resources over HTTP, ${viaSql.length} by SQL, not the same`,
    );
}

/** The path of the `page`-th page, following `next` links from the first. */
async function followNext(base: string, path: string, page: number): Promise<string> {
  for (let at = 1; at < page; at++) {
    const bundle = (await (await client.fetch(base + path)).json()) as {
      link?: { relation: string; url: string }[];
    };
    const next = bundle.link?.find((l) => l.relation === 'next')?.url;
    if (!next) throw new Error(`${path}: no next link on page ${at}`);
    const url = new URL(next);
    path = url.pathname.slice(new URL(base).pathname.length) + url.search;
  }
  return path;
}

async function timeHttp(base: string, path: string): Promise<number> {
  const started = performance.now();
  const response = await client.fetch(base + path);
  await response.text();
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return performance.now() - started;
}

/** Updates one resource that none of the queries match (not timed). */
async function writeBetween(base: string, i: number): Promise<void> {
  const response = await client.fetch(`${base}/Basic/bench-write`, {
    method: 'PUT',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify({
      resourceType: 'Basic',
      id: 'bench-write',
      code: { text: 'benchmark write' },
      created: new Date(Date.UTC(2020, 0, 1) + i * 86_400_000).toISOString().slice(0, 10),
    }),
  });
  await response.text();
  if (!response.ok) throw new Error(`write between searches: HTTP ${response.status}`);
}

/** The SQL lookup, reading every row (with its JSON text) as the server would. */
function timeSql(db: Connection, sql: string, params: unknown[]): number {
  const started = performance.now();
  db.prepare(sql).all(...params);
  return performance.now() - started;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const ms = (value: number) => `${format(value, 1).padStart(7)} ms`;

/** `chartvault serve` on a free port, its peak resident memory read from /proc until it is stopped. */
async function startServer(data: string, keys: string) {
  const child: ChildProcess = spawn(
    process.execPath,
    [CLI, 'serve', '--data', data, '--key-dir', keys, '--insecure-http', '--port', '0'],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, TZ: 'UTC' } },
  );
  const base = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const address = /listening on (\S+)/.exec(output)?.[1];
      if (address) resolve(`${address}/fhir`);
    });
    child.on('exit', (code) => reject(new Error(`chartvault serve exited with ${code}:\n${output}`)));
  });
  let peak = 0;
  const watch = () => {
    try {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      peak = Math.max(peak, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
    } catch {
      // exited: the last reading stands
    }
  };
  const timer = setInterval(watch, 200);
  child.on('exit', () => clearInterval(timer));
  return {
    child,
    base,
    peakRssMb: () => {
      watch();
      clearInterval(timer);
      return peak;
    },
  };
}

if (isMain(import.meta.url)) await runSearch();
