/**
 * Search-index extraction throughput on Synthea data, one core: the fast path (with its fhirpath
 * fallback for the few expressions it does not compile) against fhirpath for every expression.
 *
 *   node --import tsx bench/extraction.ts [archive] [bundles]
 *
 * archive defaults to synthea-r4-dev-100.tar.gz in ../shared/data (synthea-r4-bench-515.tar.gz is
 * the larger set); bundles limits how many patient bundles are read. Resources are parsed and their
 * references resolved before timing, so only extraction is measured.
 */
import { extractIndexEntries, type ExtractionEngine } from '../src/fhir/indexExtraction.ts';
import type { Resource } from '../src/fhir/types.ts';
import { sharedDataPath, syntheaResources } from '../test/sharedData.ts';

const archive = process.argv[2] ?? 'synthea-r4-dev-100.tar.gz';
const bundleLimit = Number(process.argv[3] ?? Infinity);

if (!sharedDataPath(archive)) {
  console.error(`bench/extraction: shared data file ${archive} is absent; nothing to measure.`);
  process.exit(1);
}

const resources: Resource[] = [...syntheaResources(archive, bundleLimit)];
console.log(`${resources.length} resources from ${archive}`);

/** Resources per second over at least `minMs` of repeated passes, after one warm-up pass. */
function measure(engine: ExtractionEngine, minMs: number): { perSecond: number; values: number } {
  let values = 0;
  for (const r of resources) values += extractIndexEntries(r, engine).length; // compile plans, warm the JIT
  let count = 0;
  values = 0;
  const start = process.hrtime.bigint();
  let elapsedMs: number;
  do {
    for (const r of resources) {
      for (const entry of extractIndexEntries(r, engine)) values += entry.values.length;
    }
    count += resources.length;
    elapsedMs = Number(process.hrtime.bigint() - start) / 1e6;
  } while (elapsedMs < minMs);
  return { perSecond: (count / elapsedMs) * 1000, values: values / (count / resources.length) };
}

const fast = measure('fast', 3000);
const reference = measure('fhirpath', 3000);
const format = (n: number) => Math.round(n).toLocaleString('en-US');
console.log(
  `fast path: ${format(fast.perSecond)} resources/s (${format(fast.values)} index values per pass)`,
);
console.log(
  `fhirpath:  ${format(reference.perSecond)} resources/s (${format(reference.values)} index values per pass)`,
);
console.log(`ratio:     ${(fast.perSecond / reference.perSecond).toFixed(1)}x`);
