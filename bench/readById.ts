/**
 * Read throughput: GET /fhir/Patient/{id} over a set of ids on the real server (`buildServer` over an
 * encrypted store holding imported Synthea patients), against a bare fastify server answering the same
 * JSON from memory, both loaded the same way by autocannon in the same run. Each server runs in a child
 * process (this file with --serve), so that the load generator does not share its event loop.
 *
 *   node --import tsx bench/readById.ts [--quick]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { buildServer } from '../src/http/server.ts';
import { importPaths } from '../src/import/importer.ts';
import { initStore, openStore } from '../src/store/index.ts';
import { jsonFiles } from '../test/sharedData.ts';
import { flags, isMain, machine, printFigure, syntheaFolder, tempFolder, type Figure } from './common.ts';

const ARCHIVE = 'synthea-r4-dev-100.tar.gz';
/** Patient bundles imported into the store (with the shared practitioner and hospital files). */
const PATIENTS = 25;
const CONNECTIONS = 10;
const GOAL_SHARE_OF_BASELINE = 0.5;
const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/** The part of autocannon's programmatic API used here (the package has no type declarations). */
interface LoadResult {
  duration: number;
  requests: { average: number; total: number };
  latency: { average: number; p99: number };
  non2xx: number;
  errors: number;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  requests: { method: 'GET'; setupRequest: (request: { path: string }) => { path: string } }[];
}) => Promise<LoadResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

export async function runReadById(options = flags()): Promise<Figure[]> {
  console.log(`read-by-id benchmark on ${machine()}`);
  const temp = tempFolder('chartvault-bench-read-');
  const servers: ChildProcess[] = [];
  try {
    const data = join(temp.path, 'data');
    const keys = join(temp.path, 'keys');
    await importPatients(data, keys);

    const real = await startServer(servers, ['real', data, keys]);
    const ids = await patientIds(real);
    const bodies = Object.fromEntries(
      await Promise.all(ids.map(async (id) => [id, await (await fetch(`${real}/Patient/${id}`)).text()])),
    );
    const bodiesFile = join(temp.path, 'bodies.json');
    writeFileSync(bodiesFile, JSON.stringify(bodies));
    const bare = await startServer(servers, ['baseline', bodiesFile]);
    const minimal = await startServer(servers, ['minimal', data, keys]);

    // Short alternating rounds, so that the other load of a shared machine weighs on both alike.
    const rounds = options.quick ? 3 : 5;
    const seconds = options.quick ? 1 : 2;
    console.log(
      `  ${ids.length} patients, ${CONNECTIONS} connections, ${rounds} rounds of ${seconds} s per server, after a warm-up`,
    );
    const targets = [bare, real, minimal];
    for (const target of targets) await load(target, ids, 1);
    const results: LoadResult[][] = targets.map(() => []);
    for (let round = 0; round < rounds; round++) {
      for (const [i, target] of targets.entries()) results[i]!.push(await load(target, ids, seconds));
    }
    const [baseline, measured, storeOnly] = results.map(summarize) as [Summary, Summary, Summary];
    const figures: Figure[] = [
      { name: 'bare fastify, same JSON from memory', value: baseline.perSecond, unit: 'requests/s' },
      {
        name: 'GET /fhir/Patient/{id}',
        value: measured.perSecond,
        unit: 'requests/s',
        baseline: { name: 'bare fastify', value: baseline.perSecond },
        goal: { value: GOAL_SHARE_OF_BASELINE, higherIsBetter: true },
      },
      { name: 'bare fastify p99 latency', value: baseline.p99, unit: 'ms' },
      {
        name: 'GET /fhir/Patient/{id} p99 latency',
        value: measured.p99,
        unit: 'ms',
        baseline: { name: 'bare fastify', value: baseline.p99 },
      },
      {
        name: 'bare fastify route doing store.read + stringify',
        value: storeOnly.perSecond,
        unit: 'requests/s',
        baseline: { name: 'bare fastify', value: baseline.perSecond },
      },
    ];
    figures.forEach(printFigure);
    return figures;
  } finally {
    for (const server of servers) server.kill();
    temp.remove();
  }
}

/** A store with the first patient bundles of the archive (and the shared data they refer to). */
async function importPatients(data: string, keys: string): Promise<void> {
  const files = jsonFiles(syntheaFolder(ARCHIVE));
  const shared = files.filter((f) => /(hospital|practitioner)Information/.test(f));
  const patients = files.filter((f) => !shared.includes(f)).slice(0, PATIENTS);
  const { store } = initStore(data, keys, 'UTC');
  try {
    const report = await importPaths(store, [...shared, ...patients]);
    if (report.rejected.length > 0) throw new Error(`import rejected ${report.rejected[0]!.source}`);
  } finally {
    await store.close();
  }
}

async function patientIds(base: string): Promise<string[]> {
  const bundle = (await (await fetch(`${base}/Patient?_count=${PATIENTS}`)).json()) as {
    entry?: { resource: { id: string } }[];
  };
  const ids = (bundle.entry ?? []).map((e) => e.resource.id);
  if (ids.length === 0) throw new Error('no patient found');
  return ids;
}

/** `seconds` of load on the server at `base`, rotating over the ids. */
async function load(base: string, ids: string[], seconds: number): Promise<LoadResult> {
  const path = new URL(base).pathname;
  let next = 0;
  const result = await autocannon({
    url: base,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: 'GET',
        setupRequest: (request) => ({ ...request, path: `${path}/Patient/${ids[next++ % ids.length]}` }),
      },
    ],
  });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${result.non2xx} non-2xx responses and ${result.errors} errors from ${base}`);
  return result;
}

interface Summary {
  perSecond: number;
  p99: number;
}

/** Requests per second over all rounds, and the median of their p99 latencies. */
function summarize(rounds: LoadResult[]): Summary {
  const requests = rounds.reduce((n, r) => n + r.requests.total, 0);
  const seconds = rounds.reduce((n, r) => n + r.duration, 0);
  const p99s = rounds.map((r) => r.latency.p99).sort((a, b) => a - b);
  return { perSecond: requests / seconds, p99: p99s[Math.floor(p99s.length / 2)]! };
}

/** Starts this file with `--serve ...args` and waits for the base URL it prints. */
function startServer(servers: ChildProcess[], args: string[]): Promise<string> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve', ...args],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  servers.push(child);
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const base = /listening on (\S+)/.exec(output)?.[1];
      if (base) resolve(base);
    });
    child.on('exit', (code) => reject(new Error(`the ${args[0]} server exited with ${code}`)));
  });
}

/**
 * Child process: the real server over the store; the bare one over the saved bodies; or, to tell the
 * store's share from the HTTP layer's, a bare route that reads from the store.
 */
async function serve(kind: string, args: string[]): Promise<void> {
  let app;
  if (kind === 'real') {
    const { store } = openStore(args[0]!, args[1]!);
    app = buildServer({ store });
  } else if (kind === 'minimal') {
    const { store } = openStore(args[0]!, args[1]!);
    app = Fastify({ logger: false });
    app.get<{ Params: { id: string } }>('/fhir/Patient/:id', async (request, reply) =>
      reply.type(FHIR_JSON).send(JSON.stringify(await store.read('Patient', request.params.id))),
    );
  } else {
    const bodies = JSON.parse(readFileSync(args[0]!, 'utf8')) as Record<string, string>;
    app = Fastify({ logger: false });
    app.get<{ Params: { id: string } }>('/fhir/Patient/:id', async (request, reply) => {
      const body = bodies[request.params.id];
      if (body === undefined) return reply.code(404).send();
      return reply.type(FHIR_JSON).send(body);
    });
  }
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  console.log(`listening on ${address}/fhir`);
}

if (isMain(import.meta.url)) {
  const at = process.argv.indexOf('--serve');
  if (at >= 0) await serve(process.argv[at + 1]!, process.argv.slice(at + 2));
  else await runReadById();
}
