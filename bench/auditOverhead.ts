/**
 * The audit trail's cost on the hot path: GET /fhir/Patient/{id} on the real server with audit (each
 * read answered after its entry is durable, by group commit) and without (`audit: false`), over two
 * copies of the same store, loaded alike by autocannon in alternating rounds of the same run.
 * Goal of the issue: auth plus audit at most 25% slower than without; this measures audit alone.
 *
 *   node --import tsx bench/auditOverhead.ts [--quick]
 */
import type { ChildProcess } from 'node:child_process';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { buildServer } from '../src/http/server.ts';
import { initStore, openStore } from '../src/store/index.ts';
import { flags, isMain, machine, printFigure, tempFolder, type Figure } from './common.ts';
import { alternatingRounds, CONNECTIONS, startServer, type Summary } from './patientReadLoad.ts';

const PATIENTS = 25;
const GOAL_SHARE = 0.75;

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

    const audited = await startServer(servers, import.meta.url, ['audit', withAudit, keys]);
    const plain = await startServer(servers, import.meta.url, ['no-audit', without, keys]);
    const rounds = options.quick ? 3 : 5;
    const seconds = options.quick ? 1 : 2;
    console.log(
      `  ${PATIENTS} patients, ${CONNECTIONS} connections, ${rounds} rounds of ${seconds} s per server, after a warm-up`,
    );
    const targets = [plain, audited];
    const [base, measured] = (await alternatingRounds(targets, ids, rounds, seconds)) as [Summary, Summary];
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
