/**
 * `npm run bench`: the import benchmark (with the peak memory of the 515-bundle import unless --quick),
 * then the read-by-id benchmark, then a summary of the figures against their baselines and goals.
 *
 *   npm run bench [-- --quick]
 */
import { flags, machine, meetsGoal, printFigure, type Figure } from './common.ts';
import { runIngest } from './ingest.ts';
import { runReadById } from './readById.ts';

const { quick } = flags();
const figures: Figure[] = [];
figures.push(...(await runIngest({ quick, bench515: !quick })));
console.log();
figures.push(...(await runReadById({ quick, bench515: false })));

console.log(`\nsummary (${machine()}${quick ? ', --quick' : ''}):`);
for (const figure of figures.filter((f) => f.goal || f.baseline)) printFigure(figure);
const missed = figures.filter((f) => !meetsGoal(f));
console.log(
  missed.length === 0
    ? 'every goal met'
    : `goals not met: ${missed.map((f) => `${f.name}${f.baseline ? ` (against ${f.baseline.name})` : ''}`).join('; ')}`,
);
