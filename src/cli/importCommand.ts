/** `chartvault import`: Bundles and Bulk NDJSON into the store, with progress and a report. */
import cliProgress from 'cli-progress';
import { importPaths, type ImportReport } from '../import/importer.ts';
import { openStore } from '../store/index.ts';
import { CliError } from './main.ts';

export async function importCommand(
  paths: string[],
  options: { data: string; keyDir: string; workers?: string; progress: boolean },
): Promise<void> {
  const workers = options.workers === undefined ? undefined : Number(options.workers);
  if (workers !== undefined && !(Number.isInteger(workers) && workers > 0))
    throw new CliError(`--workers must be a positive whole number.`);
  const { store } = openStore(options.data, options.keyDir);
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
    printReport(report);
    if (report.files === 0) throw new CliError(`No .json or .ndjson files found in ${paths.join(', ')}.`);
    if (report.rejected.length > 0) process.exitCode = 3;
  } finally {
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
