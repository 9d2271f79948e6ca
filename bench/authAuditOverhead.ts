/**
 * The cost of access control and the audit trail on the hot path: GET /fhir/Patient/{id} on the real
 * server with both (a bearer token verified and its principal looked up, the permission matrix asked,
 * each read answered after its audit entry is durable by group commit), with the audit trail alone
 * (`accessControl: false`), and with neither (`audit: false` too), over three copies of the same
 * store, loaded alike by autocannon in alternating rounds of the same run. Goal of the issue: auth
 * plus audit at most 25% slower than without, i.e. at least 1/1.25 = 0.8 of the throughput.
 *
 *   node --import tsx bench/authAuditOverhead.ts [--quick]
 */
import type { ChildProcess } from 'node:child_process';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { ephemeralTokenKeys } from '../src/access/index.ts';
import { buildServer } from '../src/http/server.ts';
import { benchServerToken } from './benchClient.ts';
import { initStore, openStore } from '../src/store/index.ts';
import { flags, isMain, machine, printFigure, tempFolder, type Figure } from './common.ts';
import { alternatingRounds, CONNECTIONS, startServer, type Summary } from './patientReadLoad.ts';

const PATIENTS = 25;
const GOAL_SHARE = 1 / 1.25;

export async function runAuthAuditOverhead(options = flags()): Promise<Figure[]> {
  console.log(`auth and audit overhead benchmark on ${machine()}`);
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
    const auditOnly = join(temp.path, 'audit-only');
    const without = join(temp.path, 'without');
    cpSync(withAudit, auditOnly, { recursive: true });
    cpSync(withAudit, without, { recursive: true });

    const guarded = await startServer(servers, import.meta.url, ['auth-audit', withAudit, keys]);
    const audited = await startServer(servers, import.meta.url, ['audit', auditOnly, keys]);
    const plain = await startServer(servers, import.meta.url, ['neither', without, keys]);
    const rounds = options.quick ? 3 : 5;
    const seconds = options.quick ? 1 : 2;
    console.log(
      `  ${PATIENTS} patients, ${CONNECTIONS} connections, ${rounds} rounds of ${seconds} s per server, after a warm-up`,
    );
    const targets = [plain, audited, guarded];
    const [base, auditOnlyLoad, measured] = (await alternatingRounds(targets, ids, rounds, seconds)) as [
      Summary,
      Summary,
      Summary,
    ];
    const figures: Figure[] = [
      { name: 'GET Patient/{id} without auth or audit', value: base.perSecond, unit: 'requests/s' },
      {
        name: 'GET Patient/{id} with audit only',
        value: auditOnlyLoad.perSecond,
        unit: 'requests/s',
        baseline: { name: 'neither', value: base.perSecond },
      },
      {
        name: 'GET Patient/{id} with auth and audit',
        value: measured.perSecond,
        unit: 'requests/s',
        baseline: { name: 'neither', value: base.perSecond },
        goal: { value: GOAL_SHARE, higherIsBetter: true },
      },
      { name: 'p99 latency without auth or audit', value: base.p99, unit: 'ms' },
      {
        name: 'p99 latency with auth and audit',
        value: measured.p99,
        unit: 'ms',
        baseline: { name: 'neither', value: base.p99 },
      },
    ];
    figures.forEach(printFigure);
    return figures;
  } finally {
    for (const server of servers) server.kill();
    temp.remove();
  }
}

/** Child process: the real server over one copy of the store, with both, the audit trail only, or neither. */
async function serve(kind: string, dataDir: string, keyDir: string): Promise<void> {
  const { store } = openStore(dataDir, keyDir);
  const tokenKeys = ephemeralTokenKeys();
  const app = buildServer({
    store,
    tokenKeys,
    accessControl: kind === 'auth-audit',
    audit: kind !== 'neither',
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  console.log(`listening on ${address}/fhir`);
  if (kind === 'auth-audit')
    console.log(`token ${await benchServerToken(store, tokenKeys, `${address}/fhir`)}`);
  else console.log('no token');
}

if (isMain(import.meta.url)) {
  const at = process.argv.indexOf('--serve');
  if (at >= 0) await serve(process.argv[at + 1]!, process.argv[at + 2]!, process.argv[at + 3]!);
  else await runAuthAuditOverhead();
}
