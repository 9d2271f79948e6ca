/**
 * Validation throughput on Synthea data, one core: each resource on its own (as the importer and
 * the REST API validate them), then whole transaction Bundles (as a transaction POST does).
 *
 *   node --import tsx bench/validation.ts [archive] [bundles]
 *
 * archive defaults to synthea-r4-dev-100.tar.gz in ../shared/data (synthea-r4-bench-515.tar.gz is
 * the larger set); bundles limits how many patient bundles are read. Files are read and parsed
 * before timing, and one untimed pass builds the element models, so only validation is measured.
 */
import { validateResource } from '../src/fhir/validation/index.ts';
import { jsonFiles, readJson, sharedDataPath, syntheaResources, unpackShared } from '../test/sharedData.ts';

const archive = process.argv[2] ?? 'synthea-r4-dev-100.tar.gz';
const bundleLimit = Number(process.argv[3] ?? Infinity);

if (!sharedDataPath(archive)) {
  console.error(`bench/validation: shared data file ${archive} is absent; nothing to measure.`);
  process.exit(1);
}

const resources: unknown[] = [...syntheaResources(archive, bundleLimit)];
const bundles = jsonFiles(unpackShared(archive))
  .slice(0, bundleLimit)
  .map((file) => readJson<{ resourceType: string; entry?: unknown[] }>(file))
  .filter((b) => b.resourceType === 'Bundle');
const bundleEntries = bundles.reduce((n, b) => n + (b.entry?.length ?? 0), 0);
console.log(`${resources.length} resources in ${bundles.length} bundles from ${archive}`);

/** Items per second over at least `minMs` of repeated passes, after one warm-up pass. */
function measure(items: unknown[], minMs: number): { perSecond: number; errors: number } {
  let errors = 0;
  for (const item of items) errors += validateResource(item).filter((i) => i.severity === 'error').length;
  let count = 0;
  const start = process.hrtime.bigint();
  let elapsedMs: number;
  do {
    for (const item of items) validateResource(item);
    count += items.length;
    elapsedMs = Number(process.hrtime.bigint() - start) / 1e6;
  } while (elapsedMs < minMs);
  return { perSecond: (count / elapsedMs) * 1000, errors };
}

const format = (n: number) => Math.round(n).toLocaleString('en-US');
const single = measure(resources, 5000);
console.log(`one by one:             ${format(single.perSecond)} resources/s (${single.errors} errors)`);
const whole = measure(bundles, 5000);
console.log(
  `as transaction Bundles: ${format(whole.perSecond * (bundleEntries / bundles.length))} entries/s (${whole.errors} errors)`,
);
