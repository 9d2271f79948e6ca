/**
 * What the benchmarks share: the Synthea data, running the CLI as a child process while watching its
 * memory and CPU, and printing each figure beside the baseline measured in the same run.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsonFiles, sharedDataPath, unpackShared } from '../test/sharedData.ts';

export const CLI = fileURLToPath(new URL('../bin/chartvault.js', import.meta.url));

/** A figure as the summary prints it: `value` in `unit`, and its ratio to a baseline when there is one. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  baseline?: { name: string; value: number };
  /** A goal for the ratio (or, without a baseline, the value), and whether higher is better. */
  goal?: { value: number; higherIsBetter: boolean };
}

export function machine(): string {
  return `${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}`;
}

/** The folder holding the JSON files of a shared Synthea archive, unpacked once per process. */
export function syntheaFolder(archive: string): string {
  if (!sharedDataPath(archive)) throw new Error(`shared data file ${archive} is absent: nothing to measure`);
  const first = jsonFiles(unpackShared(archive))[0];
  if (!first) throw new Error(`${archive} holds no JSON file`);
  return dirname(first);
}

export function tempFolder(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface ChildRun {
  stdout: string;
  seconds: number;
  /** Highest resident memory of the process (all its threads), in MB. */
  peakRssMb: number;
  /** CPU time (user + system, all threads) over wall time: how many cores it kept busy. */
  coresBusy: number;
}

/** Runs `node bin/chartvault.js ...args`, watching its peak memory and CPU time through /proc. */
export function runCli(args: string[]): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    let peakRssMb = 0;
    let cpuSeconds = 0;
    const watch = () => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        peakRssMb = Math.max(peakRssMb, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
        const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        cpuSeconds = (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks
      } catch {
        // the process has just exited; the last reading stands
      }
    };
    const timer = setInterval(watch, 100);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(timer);
      const seconds = (performance.now() - started) / 1000;
      if (code !== 0) reject(new Error(`chartvault ${args[0]} exited with ${code}:\n${stdout}`));
      else resolve({ stdout, seconds, peakRssMb, coresBusy: cpuSeconds / seconds });
    });
  });
}

/** The resources per second an import reported: `Imported N files in S s: R resources (X/s).` */
export function importedRate(stdout: string): { resources: number; seconds: number; perSecond: number } {
  const match = /Imported \d+ files in ([\d.]+) s: (\d+) resources/.exec(stdout);
  if (!match) throw new Error(`no import summary in:\n${stdout}`);
  const seconds = Number(match[1]);
  const resources = Number(match[2]);
  return { resources, seconds, perSecond: resources / seconds };
}

/** Runs `work` repeatedly for at least `minMs` after one warm-up pass; returns items per second. */
export function throughput(items: number, work: () => void, minMs = 2000): number {
  work();
  let passes = 0;
  const start = performance.now();
  do {
    work();
    passes++;
  } while (performance.now() - start < minMs);
  return (items * passes) / ((performance.now() - start) / 1000);
}

export const format = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function printFigure(figure: Figure): void {
  const value = `${format(figure.value, figure.value < 100 ? 1 : 0)} ${figure.unit}`;
  let line = `  ${figure.name.padEnd(48)} ${value.padStart(22)}`;
  if (figure.baseline)
    line += `   ${format(figure.value / figure.baseline.value, 2)}x of ${figure.baseline.name}`;
  if (figure.goal) line += `   (goal ${goalText(figure)}: ${meetsGoal(figure) ? 'met' : 'NOT met'})`;
  console.log(line);
}

function goalText(figure: Figure): string {
  const { value, higherIsBetter } = figure.goal!;
  const shown = figure.baseline ? `${format(value, 2)}x` : `${format(value)} ${figure.unit}`;
  return `${higherIsBetter ? '>=' : '<'} ${shown}`;
}

export function meetsGoal(figure: Figure): boolean {
  if (!figure.goal) return true;
  const measured = figure.baseline ? figure.value / figure.baseline.value : figure.value;
  return figure.goal.higherIsBetter ? measured >= figure.goal.value : measured < figure.goal.value;
}

/** The flags of a benchmark's command line. */
export function flags(): { quick: boolean; bench515: boolean } {
  return { quick: process.argv.includes('--quick'), bench515: process.argv.includes('--bench515') };
}

/** Whether this module is the script node was started with (not imported by bench/run.ts). */
export function isMain(moduleUrl: string): boolean {
  return process.argv[1] !== undefined && fileURLToPath(moduleUrl) === process.argv[1];
}
