/**
 * Load on GET /fhir/Patient/{id} by autocannon, for the benchmarks that compare servers each run as a
 * child process (so the load generator does not share their event loop): readById.ts and
 * authAuditOverhead.ts. The servers are loaded in short alternating rounds, so that the other load of a
 * shared machine weighs on all of them alike.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export const CONNECTIONS = 10;

/** The part of autocannon's programmatic API used here (the package has no type declarations). */
interface LoadResult {
  duration: number;
  requests: { total: number };
  latency: { p99: number };
  non2xx: number;
  errors: number;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  headers?: Record<string, string>;
  requests: { method: 'GET'; setupRequest: (request: { path: string }) => { path: string } }[];
}) => Promise<LoadResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

/** A server under load: its /fhir URL and the token its requests carry (none for the bare baselines). */
export interface LoadTarget {
  base: string;
  token?: string;
}

export interface Summary {
  perSecond: number;
  p99: number;
}

/**
 * A one-second warm-up of each server, then `rounds` rounds of `seconds` on each in turn; for each
 * server (in the order given), requests per second over all rounds and the median of their p99s.
 */
export async function alternatingRounds(
  targets: LoadTarget[],
  ids: string[],
  rounds: number,
  seconds: number,
  /** Called before each round of each server (a benchmark that has the server do something meanwhile). */
  beforeRound?: (target: number, round: number) => void,
): Promise<Summary[]> {
  for (const target of targets) await load(target, ids, 1);
  const results: LoadResult[][] = targets.map(() => []);
  for (let round = 0; round < rounds; round++)
    for (const [i, target] of targets.entries()) {
      beforeRound?.(i, round);
      results[i]!.push(await load(target, ids, seconds));
    }
  return results.map(summarize);
}

/** `seconds` of load on the server at `base`, rotating over the ids. */
async function load({ base, token }: LoadTarget, ids: string[], seconds: number): Promise<LoadResult> {
  const path = new URL(base).pathname;
  let next = 0;
  const result = await autocannon({
    url: base,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: 'GET',
        setupRequest: (request) => ({ ...request, path: `${path}/Patient/${ids[next++ % ids.length]}` }),
      },
    ],
  });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${result.non2xx} non-2xx responses and ${result.errors} errors from ${base}`);
  return result;
}

function summarize(rounds: LoadResult[]): Summary {
  const requests = rounds.reduce((n, r) => n + r.requests.total, 0);
  const seconds = rounds.reduce((n, r) => n + r.duration, 0);
  const p99s = rounds.map((r) => r.latency.p99).sort((a, b) => a - b);
  return { perSecond: requests / seconds, p99: p99s[Math.floor(p99s.length / 2)]! };
}

/**
 * Starts the benchmark file at `moduleUrl` with `--serve ...args` and waits for the base URL it
 * prints ("listening on URL", then "token TOKEN" when the server needs one); the child is added to
 * `servers`, for the caller to kill.
 */
export function startServer(servers: ChildProcess[], moduleUrl: string, args: string[]): Promise<LoadTarget> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(moduleUrl), '--serve', ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  servers.push(child);
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const base = /listening on (\S+)\n/.exec(output)?.[1];
      const token = /token (\S+)\n/.exec(output)?.[1];
      if (base && (token || /no token\n/.test(output))) resolve({ base, token });
    });
    child.on('exit', (code) => reject(new Error(`the ${args[0]} server exited with ${code}`)));
  });
}
