/**
 * What snapshots every minute cost the live server's reads (issue 5's goal: under 5% of its read
 * throughput). Two copies of the demo practice are served, each in its own process with access
 * control and the audit trail, as `chartvault serve` runs them. Both take the same 100 changed
 * resources per minute of load; one also takes a snapshot to a directory target after each minute of
 * load (what the schedule in `serve` does every minute), the other none. autocannon loads them alike
 * with GET /fhir/Patient/{id} in alternating rounds of 5 s; before each round the harness tells that
 * server a round starts (a line on its stdin), so that its changes and its snapshot fall while it is
 * the one being loaded.
 *
 *   node --import tsx bench/snapshotReadCost.ts [--quick]
 */
import type { ChildProcess } from 'node:child_process';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ephemeralTokenKeys } from '../src/access/index.ts';
import { DirectoryTarget, runBackup } from '../src/backup/index.ts';
import { buildServer } from '../src/http/server.ts';
import { openStore, osUserAgent } from '../src/store/index.ts';
import { benchServerToken } from './benchClient.ts';
import { flags, isMain, machine, printFigure, runCli, tempFolder, type Figure } from './common.ts';
import {
  alternatingRounds,
  CONNECTIONS,
  startServer,
  type LoadTarget,
  type Summary,
} from './patientReadLoad.ts';

const ROUND_SECONDS = 5;
const ROUNDS_PER_MINUTE = 60 / ROUND_SECONDS;
const CHANGES_PER_MINUTE = 100;
const GOAL_SHARE = 0.95;
const PATIENTS = 300;

export async function runSnapshotReadCost(options = flags()): Promise<Figure[]> {
  console.log(`snapshot read-cost benchmark on ${machine()}`);
  const temp = tempFolder('chartvault-bench-snapshot-cost-');
  const servers: ChildProcess[] = [];
  try {
    const keys = join(temp.path, 'keys');
    const withSnapshots = join(temp.path, 'with');
    await runCli([
      'demo',
      '--data',
      withSnapshots,
      '--key-dir',
      keys,
      '--no-serve',
      '--patients',
      `${PATIENTS}`,
    ]);
    const without = join(temp.path, 'without');
    cpSync(withSnapshots, without, { recursive: true });
    const target = join(temp.path, 'disk');
    await runCli(['backup', 'run', '--data', withSnapshots, '--key-dir', keys, '--to', target]); // the first snapshot: later ones are increments

    const snapshotting = await startServer(servers, import.meta.url, [
      'snapshots',
      withSnapshots,
      keys,
      target,
    ]);
    const plain = await startServer(servers, import.meta.url, ['none', without, keys]);
    const ids = await patientIds(plain);
    const minutes = options.quick ? 1 : 3;
    const rounds = minutes * ROUNDS_PER_MINUTE;
    console.log(
      `  demo practice (${PATIENTS} patients), ${ids.length} patients read, ${CONNECTIONS} connections, ` +
        `${rounds} rounds of ${ROUND_SECONDS} s per server (${minutes} min of load each)`,
    );
    const [base, measured] = (await alternatingRounds(
      [plain, snapshotting],
      ids,
      rounds,
      ROUND_SECONDS,
      (server, round) => servers[server === 1 ? 0 : 1]!.stdin!.write(`${round}\n`),
    )) as [Summary, Summary];
    const figures: Figure[] = [
      { name: 'GET Patient/{id}, 100 changes/min, no snapshots', value: base.perSecond, unit: 'requests/s' },
      {
        name: 'GET Patient/{id}, 100 changes/min, a snapshot every minute',
        value: measured.perSecond,
        unit: 'requests/s',
        baseline: { name: 'no snapshots', value: base.perSecond },
        goal: { value: GOAL_SHARE, higherIsBetter: true },
      },
    ];
    figures.forEach(printFigure);
    return figures;
  } finally {
    for (const server of servers) server.kill();
    temp.remove();
  }
}

async function patientIds({ base, token }: LoadTarget): Promise<string[]> {
  const response = await fetch(`${base}/Patient?_count=50&_elements=id`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const bundle = (await response.json()) as { entry?: { resource: { id: string } }[] };
  return (bundle.entry ?? []).map((e) => e.resource.id);
}

/**
 * Child process: the server over one copy. On each round line from the harness it changes its share of
 * 100 resources a minute, spread over the round; with `snapshots`, every 12th round (a minute of load)
 * it also takes a snapshot to the target, as the schedule in serve does.
 */
async function serve(kind: string, dataDir: string, keyDir: string, targetDir?: string): Promise<void> {
  const { store, settings } = openStore(dataDir, keyDir);
  const tokenKeys = ephemeralTokenKeys();
  const app = buildServer({ store, tokenKeys });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  console.log(`listening on ${address}/fhir`);
  console.log(`token ${await benchServerToken(store, tokenKeys, `${address}/fhir`)}`);
  const { resources: changing } = await store.search({
    types: ['Observation'],
    criteria: [],
    sort: [],
    count: 5000,
    offset: 0,
    total: 'none',
  });
  let next = 0;
  const perRound = Math.ceil(CHANGES_PER_MINUTE / ROUNDS_PER_MINUTE);
  const target = targetDir ? new DirectoryTarget(targetDir) : undefined;
  let snapshots = 0;
  for await (const line of createInterface({ input: process.stdin })) {
    const round = Number(line);
    for (let i = 0; i < perRound; i++) {
      setTimeout(
        () => {
          const resource = changing[next++ % changing.length]!;
          void store.update({ ...resource, meta: undefined, status: i % 2 ? 'amended' : 'final' } as never);
        },
        (i * ROUND_SECONDS * 1000) / perRound,
      );
    }
    if (kind === 'snapshots' && target && round % ROUNDS_PER_MINUTE === ROUNDS_PER_MINUTE - 1) {
      const started = performance.now();
      void runBackup({
        store,
        dataDir,
        keyDir,
        storeId: settings.storeId,
        target,
        agent: osUserAgent(),
      }).then(() => {
        snapshots++;
        console.error(`  snapshot ${snapshots}: ${(performance.now() - started).toFixed(0)} ms`);
      });
    }
  }
}

if (isMain(import.meta.url)) {
  const at = process.argv.indexOf('--serve');
  if (at >= 0)
    await serve(process.argv[at + 1]!, process.argv[at + 2]!, process.argv[at + 3]!, process.argv[at + 4]);
  else await runSnapshotReadCost();
}
