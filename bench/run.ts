/**
 * `npm run bench`: the named benchmarks, or by default the import benchmark (with the peak memory of the
 * 515-bundle import unless --quick), the read-by-id benchmark and the downtime-copy benchmark; then a
 * summary of the figures against their baselines and goals. `search` (a million resources: it builds
 * its store first, 20 to 40 minutes, then reuses it) runs only when named.
 *
 *   npm run bench [-- [ingest] [read] [search] [downtime] [--quick]]
 */
import { flags, machine, meetsGoal, printFigure, type Figure } from './common.ts';
import { runIngest } from './ingest.ts';
import { runReadById } from './readById.ts';
import { runSearch } from './search.ts';
import { runDowntime } from './downtime.ts';
import { runBackupBench } from './backup.ts';

const BENCHMARKS: Record<string, (quick: boolean) => Promise<Figure[]>> = {
  ingest: (quick) => runIngest({ quick, bench515: !quick }),
  read: (quick) => runReadById({ quick, bench515: false }),
  search: (quick) => runSearch({ quick, bench515: false }),
  downtime: (quick) => runDowntime({ quick }),
  backup: (quick) => runBackupBench({ quick, bench515: false }),
};
const DEFAULT = ['ingest', 'read', 'downtime'];

const { quick } = flags();
const named = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const unknown = named.filter((name) => !(name in BENCHMARKS));
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(', ')}; there are: ${Object.keys(BENCHMARKS).join(', ')}`);
  process.exit(1);
}
const figures: Figure[] = [];
for (const [i, name] of (named.length > 0 ? named : DEFAULT).entries()) {
  if (i > 0) console.log();
  figures.push(...(await BENCHMARKS[name]!(quick)));
}

console.log(`\nsummary (${machine()}${quick ? ', --quick' : ''}):`);
for (const figure of figures.filter((f) => f.goal || f.baseline)) printFigure(figure);
const missed = figures.filter((f) => !meetsGoal(f));
console.log(
  missed.length === 0
    ? 'every goal met'
    : `goals not met: ${missed.map((f) => `${f.name}${f.baseline ? ` (against ${f.baseline.name})` : ''}`).join('; ')}`,
);
