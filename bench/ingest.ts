/**
 * Import throughput: the Synthea transaction bundles through the real `chartvault import` (a child
 * process, with validation, every search index and encryption), against ceilings measured in the same run:
 *
 *   (a) the per-resource work alone, in this process, one thread: index extraction, validation, and the
 *       whole preparation of a file as an import worker does it (parse, validate, index, serialize);
 *   (b) plain INSERTs of the same JSON and index rows into a new SQLite file, encrypted and configured
 *       as the store is, in one transaction: what SQLite itself costs.
 *
 * With --bench515, also the peak memory of importing the 515 larger bundles.
 *
 *   node --import tsx bench/ingest.ts [--quick] [--bench515]
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { extractIndexEntries } from '../src/fhir/indexExtraction.ts';
import type { Resource } from '../src/fhir/types.ts';
import { validateResource } from '../src/fhir/validation/index.ts';
import { prepareJsonFile } from '../src/import/prepareUnits.ts';
import { openConnection } from '../src/store/sqlite/connection.ts';
import { forEachIndexRow, toIndexRows } from '../src/store/sqlite/indexWriter.ts';
import { INDEX_TABLES, SCHEMA_SQL } from '../src/store/sqlite/schema.ts';
import { stampJson, unstampedJson } from '../src/store/sqlite/storedJson.ts';
import { jsonFiles, syntheaResources } from '../test/sharedData.ts';
import {
  flags,
  format,
  importedRate,
  isMain,
  machine,
  printFigure,
  runCli,
  syntheaFolder,
  tempFolder,
  throughput,
  type Figure,
} from './common.ts';

const DEV_ARCHIVE = 'synthea-r4-dev-100.tar.gz';
const BENCH_ARCHIVE = 'synthea-r4-bench-515.tar.gz';
/** The goals: resources/s end to end, share of the SQLite ceiling, and peak memory. */
const GOAL_PER_SECOND = 10_000;
const GOAL_SHARE_OF_SQLITE = 0.3;
const MEMORY_LIMIT_MB = 512;

export async function runIngest(options = flags()): Promise<Figure[]> {
  console.log(`ingest benchmark on ${machine()}`);
  const folder = syntheaFolder(DEV_ARCHIVE);
  const imported = await importWithCli(folder);
  console.log(
    `  ${DEV_ARCHIVE}: ${format(imported.resources)} resources in ${format(imported.seconds, 1)} s of import ` +
      `(${format(imported.wallSeconds, 1)} s for the whole command), ${format(imported.coresBusy, 1)} cores busy, ` +
      `peak ${format(imported.peakRssMb)} MB`,
  );

  const resources = [...syntheaResources(DEV_ARCHIVE)];
  const minMs = options.quick ? 1000 : 3000;
  const importAgainst = (ceiling: string, value: number): Figure => ({
    name: 'import, against the ceiling',
    value: imported.perSecond,
    unit: 'resources/s',
    baseline: { name: ceiling, value },
  });
  const extraction = throughput(
    resources.length,
    () => resources.forEach((r) => extractIndexEntries(r)),
    minMs,
  );
  const validation = throughput(resources.length, () => resources.forEach((r) => validateResource(r)), minMs);
  const files = jsonFiles(folder).map((file) => readFileSync(file, 'utf8'));
  const preparation = throughput(
    imported.resources,
    () => files.forEach((t) => prepareJsonFile('f', t)),
    minMs,
  );
  const sqlite = sqliteCeiling(resources);

  const figures: Figure[] = [
    {
      name: 'import (chartvault import), end to end',
      value: imported.perSecond,
      unit: 'resources/s',
      goal: { value: GOAL_PER_SECOND, higherIsBetter: true },
    },
    { name: '(a) index extraction alone, 1 thread', value: extraction, unit: 'resources/s' },
    { name: '(a) validation alone, 1 thread', value: validation, unit: 'resources/s' },
    { name: '(a) worker preparation alone, 1 thread', value: preparation, unit: 'resources/s' },
    { name: '(b) plain SQLite inserts, 1 transaction', value: sqlite, unit: 'resources/s' },
    importAgainst('(a) extraction', extraction),
    importAgainst('(a) validation', validation),
    importAgainst('(a) preparation', preparation),
    { ...importAgainst('(b) SQLite', sqlite), goal: { value: GOAL_SHARE_OF_SQLITE, higherIsBetter: true } },
  ];
  if (options.bench515) {
    const big = await importWithCli(syntheaFolder(BENCH_ARCHIVE));
    console.log(
      `  ${BENCH_ARCHIVE}: ${format(big.resources)} resources in ${format(big.seconds, 1)} s of import ` +
        `(${format(big.wallSeconds, 1)} s for the whole command), ${format(big.coresBusy, 1)} cores busy`,
    );
    figures.push(
      { name: 'import of the 515 bundles', value: big.perSecond, unit: 'resources/s' },
      {
        name: 'peak memory importing the 515 bundles',
        value: big.peakRssMb,
        unit: 'MB',
        goal: { value: MEMORY_LIMIT_MB, higherIsBetter: false },
      },
    );
  }
  figures.forEach(printFigure);
  return figures;
}

/** `chartvault init` then `chartvault import` of a folder, in a fresh data directory. */
async function importWithCli(folder: string) {
  const temp = tempFolder('chartvault-bench-');
  try {
    const store = ['--data', join(temp.path, 'data'), '--key-dir', join(temp.path, 'keys')];
    await runCli(['init', ...store, '--yes']);
    const run = await runCli(['import', ...store, '--no-progress', folder]);
    return { ...run, ...importedRate(run.stdout), wallSeconds: run.seconds };
  } finally {
    temp.remove();
  }
}

/**
 * The same resources as stored JSON with their index rows, inserted with no lookups into a new file
 * with the store's schema, encryption and settings, in one transaction (committed and closed).
 * Shared resources that several bundles repeat are inserted once, as the import stores them.
 */
function sqliteCeiling(resources: Resource[]): number {
  const distinct = new Map(resources.map((r) => [`${r.resourceType}/${r.id}`, r]));
  const rows = [...distinct.values()].map((r) => ({
    type: r.resourceType,
    id: r.id!,
    body: stampJson(unstampedJson(r), 1, Date.now()),
    index: toIndexRows(extractIndexEntries(r)),
  }));
  const temp = tempFolder('chartvault-ceiling-');
  try {
    const started = performance.now();
    const db = openConnection(join(temp.path, 'ceiling.db'), randomBytes(32), { create: true });
    db.exec(SCHEMA_SQL);
    const insertResource = db.prepare(
      'INSERT INTO resource (rid, type, id, version, vid, last_updated) VALUES (?, ?, ?, 1, ?, ?)',
    );
    const insertVersion = db.prepare(
      "INSERT INTO resource_version (vid, rid, version, last_updated, method, body) VALUES (?, ?, 1, ?, 'update', ?)",
    );
    const insertIndex = INDEX_TABLES.map((table) => {
      const columns = (db.prepare(`SELECT * FROM ${table}`).columns() as unknown[]).length;
      return db.prepare(`INSERT INTO ${table} VALUES (${new Array(columns).fill('?').join(', ')})`);
    });
    const pids = new Map<string, number>();
    db.transaction(() => {
      rows.forEach((row, i) => {
        const rid = i + 1;
        insertResource.run(rid, row.type, row.id, rid, Date.now());
        insertVersion.run(rid, rid, Date.now(), row.body);
        forEachIndexRow(row.index, (table, param, values) => {
          const key = `${row.type}\u0000${param}`;
          if (!pids.has(key)) pids.set(key, pids.size + 1);
          insertIndex[table]!.run(rid, pids.get(key), ...values);
        });
      });
    }).immediate();
    db.close();
    return rows.length / ((performance.now() - started) / 1000);
  } finally {
    temp.remove();
  }
}

if (isMain(import.meta.url)) await runIngest();
