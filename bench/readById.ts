/**
 * Read throughput: GET /fhir/Patient/{id} over a set of ids on the real server (`buildServer` over an
 * encrypted store holding imported Synthea patients), against a bare fastify server answering the same
 * JSON from memory, both loaded the same way by autocannon in the same run. Each server runs in a child
 * process (this file with --serve), so that the load generator does not share its event loop.
 *
 *   node --import tsx bench/readById.ts [--quick]
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify from 'fastify';
import { ephemeralTokenKeys } from '../src/access/index.ts';
import { buildServer } from '../src/http/server.ts';
import { benchServerToken } from './benchClient.ts';
import { importPaths } from '../src/import/importer.ts';
import { initStore, openStore } from '../src/store/index.ts';
import { jsonFiles } from '../test/sharedData.ts';
import { flags, isMain, machine, printFigure, syntheaFolder, tempFolder, type Figure } from './common.ts';
import { alternatingRounds, CONNECTIONS, startServer, type Summary } from './patientReadLoad.ts';

const ARCHIVE = 'synthea-r4-dev-100.tar.gz';
/** Patient bundles imported into the store (with the shared practitioner and hospital files). */
const PATIENTS = 25;
const GOAL_SHARE_OF_BASELINE = 0.5;
const FHIR_JSON = 'application/fhir+json; charset=utf-8';

export async function runReadById(options = flags()): Promise<Figure[]> {
  console.log(`read-by-id benchmark on ${machine()}`);
  const temp = tempFolder('chartvault-bench-read-');
  const servers: ChildProcess[] = [];
  try {
    const data = join(temp.path, 'data');
    const keys = join(temp.path, 'keys');
    await importPatients(data, keys);

    const real = await startServer(servers, import.meta.url, ['real', data, keys]);
    const auth = { authorization: `Bearer ${real.token}` };
    const ids = await patientIds(real.base, auth);
    const bodies = Object.fromEntries(
      await Promise.all(
        ids.map(async (id) => [
          id,
          await (await fetch(`${real.base}/Patient/${id}`, { headers: auth })).text(),
        ]),
      ),
    );
    const bodiesFile = join(temp.path, 'bodies.json');
    writeFileSync(bodiesFile, JSON.stringify(bodies));
    const bare = await startServer(servers, import.meta.url, ['baseline', bodiesFile]);
    const minimal = await startServer(servers, import.meta.url, ['minimal', data, keys]);

    const rounds = options.quick ? 3 : 5;
    const seconds = options.quick ? 1 : 2;
    console.log(
      `  ${ids.length} patients, ${CONNECTIONS} connections, ${rounds} rounds of ${seconds} s per server, after a warm-up`,
    );
    const targets = [bare, real, minimal];
    const [baseline, measured, storeOnly] = (await alternatingRounds(targets, ids, rounds, seconds)) as [
      Summary,
      Summary,
      Summary,
    ];
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

async function patientIds(base: string, headers: Record<string, string>): Promise<string[]> {
  const bundle = (await (await fetch(`${base}/Patient?_count=${PATIENTS}`, { headers })).json()) as {
    entry?: { resource: { id: string } }[];
  };
  const ids = (bundle.entry ?? []).map((e) => e.resource.id);
  if (ids.length === 0) throw new Error('no patient found');
  return ids;
}

/**
 * Child process: the real server over the store; the bare one over the saved bodies; or, to tell the
 * store's share from the HTTP layer's, a bare route that reads from the store.
 */
async function serve(kind: string, args: string[]): Promise<void> {
  let app;
  let token: (base: string) => Promise<string> | undefined = () => undefined;
  if (kind === 'real') {
    const { store } = openStore(args[0]!, args[1]!);
    const tokenKeys = ephemeralTokenKeys();
    app = buildServer({ store, tokenKeys });
    token = (base) => benchServerToken(store, tokenKeys, base);
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
  const issued = await token(`${address}/fhir`);
  console.log(issued ? `token ${issued}` : 'no token');
}

if (isMain(import.meta.url)) {
  const at = process.argv.indexOf('--serve');
  if (at >= 0) await serve(process.argv[at + 1]!, process.argv.slice(at + 2));
  else await runReadById();
}
