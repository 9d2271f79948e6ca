/** Steps the backup and receiver end-to-end tests share: checked CLI runs, a receiver process, pairing. */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { openStore } from '../src/store/index.ts';
import { chartvault, CLI, type CliResult } from './cli.ts';

/** The stdout of a `chartvault` run that must have succeeded (its stderr is the failure message). */
export function ok(result: CliResult): string {
  assert.equal(result.status, 0, result.stderr);
  return result.stdout;
}

/** The files under `dir` that contain `text` (as bytes), or '' when none do. */
export function grepFor(dir: string, text: string, options: { ignoreCase?: boolean } = {}): string {
  try {
    const flags = ['-r', '-l', '-a', ...(options.ignoreCase ? ['-i'] : [])];
    return execFileSync('grep', [...flags, text, dir], { encoding: 'utf8' });
  } catch (error) {
    assert.equal((error as { status: number }).status, 1);
    return '';
  }
}

/** How many resources of each type the store in `data` holds. */
export async function countsOf(data: string, keyDir: string): Promise<Record<string, number>> {
  const { store } = openStore(data, keyDir);
  try {
    return await store.countByType();
  } finally {
    await store.close();
  }
}

export interface ReceiverProcess {
  url: string;
  fingerprint: string;
  /** Everything it printed so far, stdout and stderr. */
  output: () => string;
}

/**
 * `chartvault receiver` as a child process (added to `children`, for the caller to kill), on `host`
 * (127.0.0.1 unless set) and a free port, run behind `prefix` when given; resolves once it listens.
 */
export function startReceiver(
  data: string,
  children: ChildProcess[],
  options: { host?: string; prefix?: string[] } = {},
): Promise<ReceiverProcess> {
  const host = options.host ?? '127.0.0.1';
  const command = [
    ...(options.prefix ?? []),
    'node',
    CLI,
    'receiver',
    '--data',
    data,
    '--port',
    '0',
    '--host',
    host,
  ];
  const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stderr!.on('data', (chunk) => (out += chunk));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      const match =
        /listening on (https:\/\/[0-9.]+:\d+)\nCertificate fingerprint SHA256 ([0-9A-F:]{95})/.exec(out);
      if (match) resolve({ url: match[1]!, fingerprint: match[2]!, output: () => out });
    });
    child.on('exit', (code) => reject(new Error(`receiver exited with ${code}: ${out}`)));
  });
}

/** The one-time pairing code that `chartvault receiver pair` printed. */
export function pairingCodeIn(printed: string): string {
  return /^ {2}([A-Z2-7]{4}(?:-[A-Z2-7]{4}){7})$/m.exec(printed)![1]!;
}

/** `chartvault backup pair` of the store in `data` with the receiver at `url`, pinning `fingerprint`. */
export function pairBackup(
  data: string,
  keyDir: string,
  to: { url: string; code: string; fingerprint: string },
  ...extra: string[]
): CliResult {
  return chartvault(
    'backup',
    'pair',
    '--data',
    data,
    '--key-dir',
    keyDir,
    '--to',
    to.url,
    '--code',
    to.code,
    '--fingerprint',
    to.fingerprint,
    ...extra,
  );
}

/** `chartvault restore` from the backup at `from`, with the kit, into a new store at `data`/`keyDir`. */
export function restoreInto(
  from: string,
  kit: string,
  data: string,
  keyDir: string,
  ...extra: string[]
): CliResult {
  return chartvault('restore', '--from', from, '--kit', kit, '--data', data, '--key-dir', keyDir, ...extra);
}
