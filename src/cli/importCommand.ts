/** `chartvault import`: Bundles and Bulk NDJSON into the store, with progress and a report. */
import cliProgress from 'cli-progress';
import { commandLineAgent } from '../audit/index.ts';
import { importPaths, type ImportReport } from '../import/importer.ts';
import { openStore } from '../store/index.ts';
import { CliError } from './main.ts';
import { openCommandAuditTrail } from './commandAuditTrail.ts';

export async function importCommand(
  paths: string[],
  options: { data: string; keyDir: string; workers?: string; progress: boolean },
): Promise<void> {
  const workers = options.workers === undefined ? undefined : Number(options.workers);
  if (workers !== undefined && !(Number.isInteger(workers) && workers > 0))
    throw new CliError(`--workers must be a positive whole number.`);
  const { store, settings } = openStore(options.data, options.keyDir);
  const audit = { agent: commandLineAgent(), detail: { via: 'import' } };
  // Each version the import writes is recorded by the store, in its transaction, under this agent.
  store.defaultAudit = audit;
  const trail = await openCommandAuditTrail(store, settings, options);
  const showBar = options.progress && process.stderr.isTTY;
  const bar = new cliProgress.SingleBar(
    { format: 'importing [{bar}] {value}/{total} files | {resources} resources', stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  try {
    const report = await importPaths(store, paths, {
      workers,
      onProgress: ({ filesDone, filesTotal, resources }) => {
        if (!showBar) return;
        if (!started) {
          bar.start(filesTotal, 0, { resources: 0 });
          started = true;
        }
        bar.update(filesDone, { resources });
      },
    });
    if (started) bar.stop();
    const written = Object.values(report.byType).reduce((n, c) => n + c.created + c.updated + c.deleted, 0);
    await store.appendAudit({
      agent: audit.agent,
      action: 'import',
      outcome: report.rejected.length > 0 ? 'failure' : 'success',
      detail: { files: report.files, written, rejected: report.rejected.length },
    });
    printReport(report);
    if (report.files === 0) throw new CliError(`No .json or .ndjson files found in ${paths.join(', ')}.`);
    if (report.rejected.length > 0) process.exitCode = 3;
  } finally {
    await trail.close();
    await store.close();
  }
}

function printReport(report: ImportReport): void {
  const rows = Object.entries(report.byType).sort(([a], [b]) => a.localeCompare(b));
  const total = rows.reduce((n, [, c]) => n + c.created + c.updated + c.unchanged, 0);
  console.log(
    `Imported ${report.files} files in ${report.seconds.toFixed(1)} s: ${total} resources (${Math.round(total / Math.max(report.seconds, 0.001))}/s).`,
  );
  console.log('type'.padEnd(28) + 'created'.padStart(9) + 'updated'.padStart(9) + 'unchanged'.padStart(11));
  for (const [type, c] of rows) {
    console.log(
      type.padEnd(28) +
        String(c.created).padStart(9) +
        String(c.updated).padStart(9) +
        String(c.unchanged).padStart(11),
    );
  }
  if (report.unresolvedReferences > 0) {
    console.log(
      `${report.unresolvedReferences} conditional references matched no single resource and were kept as identifier references.`,
    );
  }
  if (report.rejected.length > 0) {
    console.log(`Rejected ${report.rejected.length}:`);
    for (const r of report.rejected) console.log(`  ${r.source}: ${r.reason}`);
  } else {
    console.log('Rejected: none.');
  }
}
