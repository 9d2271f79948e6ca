/**
 * `audit verify` on a million-entry chain (goal: under 5 s), beside two baselines measured in the same
 * run: reading the same rows from the encrypted database without hashing, and plain SHA-256 over the
 * same bytes in memory (one hash call per entry, as the chain needs).
 *
 *   node --import tsx bench/auditVerify.ts [--quick]
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { createAuditSigningKey, verifyAuditChain, writeCheckpoint } from '../src/audit/index.ts';
import { initStore, openStore } from '../src/store/index.ts';
import { flags, isMain, machine, printFigure, tempFolder, type Figure } from './common.ts';

const GOAL_SECONDS = 5;

export async function runAuditVerify(options = flags()): Promise<Figure[]> {
  const entries = options.quick ? 100_000 : 1_000_000;
  console.log(`audit verify benchmark on ${machine()}: ${entries.toLocaleString('en')} entries`);
  const temp = tempFolder('chartvault-bench-audit-');
  try {
    const data = join(temp.path, 'data');
    const keys = join(temp.path, 'keys');
    const { store, settings } = initStore(data, keys, 'UTC');
    const key = createAuditSigningKey(keys, settings.storeId);
    const built = performance.now();
    for (let written = 0; written < entries;) {
      await store.transaction(async (tx) => {
        for (let i = 0; i < 50_000 && written < entries; i++, written++)
          await tx.appendAudit({
            agent: { type: 'unauthenticated', address: '127.0.0.1' },
            action: written % 10 === 0 ? 'search' : 'read',
            resource: { type: 'Patient', id: `patient-${written % 50_000}` },
            patients: [`patient-${written % 50_000}`],
            outcome: 'success',
            status: 200,
            ...(written % 10 === 0 ? { detail: { query: 'family=Example&birthdate=1970', count: 1 } } : {}),
          });
      });
    }
    await writeCheckpoint(store, { dataDir: data, storeId: settings.storeId, key });
    await store.close();
    console.log(`  chain built in ${((performance.now() - built) / 1000).toFixed(1)} s`);

    const reopened = openStore(data, keys).store;
    let started = performance.now();
    const report = await verifyAuditChain({
      store: reopened,
      dataDir: data,
      storeId: settings.storeId,
      publicKey: key.publicKey,
    });
    const verifySeconds = (performance.now() - started) / 1000;
    if (!report.ok || report.entries !== entries) throw new Error(`verify failed: ${report.problem}`);

    started = performance.now();
    const texts: string[] = [];
    for (const row of reopened.readAuditChain()) texts.push(row[2]);
    const readSeconds = (performance.now() - started) / 1000;
    started = performance.now();
    for (const text of texts) createHash('sha256').update(text).digest();
    const hashSeconds = (performance.now() - started) / 1000;
    await reopened.close();

    const figures: Figure[] = [
      { name: 'read the rows only (baseline)', value: readSeconds, unit: 's' },
      { name: 'SHA-256 of each entry in memory (baseline)', value: hashSeconds, unit: 's' },
      {
        name: `audit verify, ${entries.toLocaleString('en')} entries`,
        value: verifySeconds,
        unit: 's',
        baseline: { name: 'read + hash', value: readSeconds + hashSeconds },
      },
      {
        name: 'audit verify against the goal',
        value: verifySeconds,
        unit: 's',
        goal: { value: GOAL_SECONDS * (entries / 1_000_000), higherIsBetter: false },
      },
    ];
    figures.forEach(printFigure);
    return figures;
  } finally {
    temp.remove();
  }
}

if (isMain(import.meta.url)) await runAuditVerify();
