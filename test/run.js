// Runs the test files with node's test runner (Node 20's `node --test` does not expand globs) and
// fails when the number of tests run differs from what the files declare, so none is silently lost.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const roots = ['src', 'test'];
const files = roots
  .flatMap((root) => readdirSync(root, { recursive: true, encoding: 'utf8' }).map((f) => join(root, f)))
  .filter((f) => f.endsWith('.test.ts'))
  .sort();
console.log(`test files (${files.length}):\n  ${files.join('\n  ')}`);
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], {
  stdio: ['ignore', 'pipe', 'inherit'],
  encoding: 'utf8',
  maxBuffer: 256 * 1024 * 1024,
});
process.stdout.write(result.stdout);
const count = (name) => Number(new RegExp(`^# ${name} (\\d+)`, 'm').exec(result.stdout)?.[1] ?? NaN);
console.log(
  `\ntest files: ${files.length}, tests: ${count('tests')}, passed: ${count('pass')}, failed: ${count('fail')}, skipped: ${count('skipped')}`,
);
if (result.status !== 0 || count('fail') !== 0 || Number.isNaN(count('tests'))) process.exit(1);
if (count('tests') < files.length) {
  console.error(
    `only ${count('tests')} tests ran from ${files.length} files: a file's tests were not loaded`,
  );
  process.exit(1);
}
if (process.env.REQUIRE_SHARED_DATA === '1' && count('skipped') > 0) {
  console.error('tests were skipped although REQUIRE_SHARED_DATA=1');
  process.exit(1);
}
