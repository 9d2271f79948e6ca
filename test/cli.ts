/** Runs the `chartvault` command as a separate process, as an operator (and the acceptance checks) do. */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../bin/chartvault.js', import.meta.url));

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** `node bin/chartvault.js ...args`, waiting for it to exit; never throws on a non-zero exit. */
export function chartvault(...args: string[]): CliResult {
  try {
    const stdout = execFileSync('node', [CLI, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { status: 0, stdout, stderr: '' };
  } catch (error) {
    const e = error as CliResult;
    return { status: e.status, stdout: e.stdout, stderr: e.stderr };
  }
}
