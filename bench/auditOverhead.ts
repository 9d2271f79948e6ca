/**
 * The audit trail's cost on the hot path: GET /fhir/Patient/{id} on the real server with audit (each
 * read answered after its entry is durable, by group commit) and without (`audit: false`), over two
 * copies of the same store, loaded alike by autocannon in alternating rounds of the same run.
 * Goal of the issue: auth plus audit at most 25% slower than without; this measures audit alone.
 *
 *   node --import tsx bench/auditOverhead.ts [--quick]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildServer } from '../src/http/server.ts';
import { initStore, openStore } from '../src/store/index.ts';
import { flags, isMain, machine, printFigure, tempFolder, type Figure } from './common.ts';

const PATIENTS = 25;
const CONNECTIONS = 10;
const GOAL_SHARE = 0.75;

interface LoadResult {
  duration: number;
  requests: { total: number };
  latency: { p99: number };
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

export async function runAuditOverhead(options = flags()): Promise<Figure[]> {
  console.log(`audit overhead benchmark on ${machine()}`);
  const temp = tempFolder('chartvault-bench-audit-overhead-');
  const servers: ChildProcess[] = [];
  try {
    const keys = join(temp.path, 'keys');
    const withAudit = join(temp.path, 'with');
    const { store } = initStore(withAudit, keys, 'UTC');
    const ids: string[] = [];
    for (let i = 0; i < PATIENTS; i++) {
      const { resource } = await store.create({
        resourceType: 'Patient',
        name: [{ family: `Bench${i}`, given: ['Example'] }],
        birthDate: '1970-01-01',
        address: [{ city: 'Springfield', postalCode: '12345' }],
      });
      ids.push(resource.id!);
    }
    await store.close();
    const without = join(temp.path, 'without');
    cpSync(withAudit, without, { recursive: true });

    const audited = await startServer(servers, ['audit', withAudit, keys]);
    const plain = await startServer(servers, ['no-audit', without, keys]);
    const rounds = options.quick ? 3 : 5;
    const seconds = options.quick ? 1 : 2;
    console.log(
      `  ${PATIENTS} patients, ${CONNECTIONS} connections, ${rounds} rounds of ${seconds} s per server, after a warm-up`,
    );
    const targets = [plain, audited];
    for (const target of targets) await load(target, ids, 1);
    const results: LoadResult[][] = targets.map(() => []);
    for (let round = 0; round < rounds; round++)
      for (const [i, target] of targets.entries()) results[i]!.push(await load(target, ids, seconds));
    const [base, measured] = results.map(summarize) as [Summary, Summary];
    const figures: Figure[] = [
      { name: 'GET Patient/{id} without audit', value: base.perSecond, unit: 'requests/s' },
      {
        name: 'GET Patient/{id} with audit',
        value: measured.perSecond,
        unit: 'requests/s',
        baseline: { name: 'without audit', value: base.perSecond },
        goal: { value: GOAL_SHARE, higherIsBetter: true },
      },
      { name: 'p99 latency without audit', value: base.p99, unit: 'ms' },
      {
        name: 'p99 latency with audit',
        value: measured.p99,
        unit: 'ms',
        baseline: { name: 'without audit', value: base.p99 },
      },
    ];
    figures.forEach(printFigure);
    return figures;
  } finally {
    for (const server of servers) server.kill();
    temp.remove();
  }
}

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

function summarize(rounds: LoadResult[]): Summary {
  const requests = rounds.reduce((n, r) => n + r.requests.total, 0);
  const seconds = rounds.reduce((n, r) => n + r.duration, 0);
  const p99s = rounds.map((r) => r.latency.p99).sort((a, b) => a - b);
  return { perSecond: requests / seconds, p99: p99s[Math.floor(p99s.length / 2)]! };
}

function startServer(servers: ChildProcess[], args: string[]): Promise<string> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve', ...args],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
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

/** Child process: the real server over one copy of the store, with or without its audit trail. */
async function serve(kind: string, dataDir: string, keyDir: string): Promise<void> {
  const { store } = openStore(dataDir, keyDir);
  const app = buildServer({ store, audit: kind === 'audit' });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  console.log(`listening on ${address}/fhir`);
}

if (isMain(import.meta.url)) {
  const at = process.argv.indexOf('--serve');
  if (at >= 0) await serve(process.argv[at + 1]!, process.argv[at + 2]!, process.argv[at + 3]!);
  else await runAuditOverhead();
}
