/** Runs the `chartvault` command as a separate process, as an operator (and the acceptance checks) do. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
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

/**
 * `chartvault serve` on a free loopback port, as a child process; resolves once it listens. Plain HTTP
 * (`--insecure-http`) unless `tls` is set; `output` is what it printed up to then.
 */
export function startServe(
  data: string,
  keyDir: string,
  options: { tls?: boolean } = {},
): Promise<{ base: string; process: ChildProcess; output: string }> {
  const server = spawn(
    'node',
    [
      CLI,
      'serve',
      '--data',
      data,
      '--key-dir',
      keyDir,
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      ...(options.tls ? [] : ['--insecure-http']),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (chunk) => {
      out += chunk;
      const match = /listening on (https?:\/\/127\.0\.0\.1:\d+)\n(.*fingerprint.*\n)?/.exec(out);
      if (match && (!options.tls || match[2]))
        resolve({ base: `${match[1]}/fhir`, process: server, output: out });
    });
    server.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
  });
}

/** `chartvault demo` without serving: a practice store in `data` with `patients` made-up patients. */
export function demoPractice(data: string, keyDir: string, patients: number, ...extra: string[]): CliResult {
  return chartvault(
    'demo',
    '--data',
    data,
    '--key-dir',
    keyDir,
    '--no-serve',
    ...extra,
    '--patients',
    `${patients}`,
  );
}

/** Stops a child process and waits until it has exited, so that it has closed its files (serve signs a
 * last audit checkpoint when it stops) before a test reads or removes them. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill();
  await exited;
}

/** A client registered with `chartvault clients add --json`, as the acceptance checks make one. */
export function addClient(
  data: string,
  keyDir: string,
  scopes = 'system/*.*',
): { client_id: string; client_secret: string } {
  const added = chartvault(
    'clients',
    'add',
    '--data',
    data,
    '--key-dir',
    keyDir,
    '--name',
    'test-client',
    '--scopes',
    scopes,
    '--json',
  );
  if (added.status !== 0) throw new Error(`clients add failed: ${added.stderr}`);
  return JSON.parse(added.stdout) as { client_id: string; client_secret: string };
}

/** The Authorization header with a token for `client` from the running serve at `base` (client_secret_basic). */
export async function clientToken(
  base: string,
  client: { client_id: string; client_secret: string },
): Promise<{ authorization: string }> {
  const response = await fetch(`${new URL(base).origin}/oauth/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
    },
    body: 'grant_type=client_credentials',
  });
  const token = (await response.json()) as { access_token?: string };
  if (!token.access_token) throw new Error(`no token from ${base}: ${JSON.stringify(token)}`);
  return { authorization: `Bearer ${token.access_token}` };
}

/** A new `system/*.*` client's Authorization header for the running serve at `base`. */
export async function clientAuthorization(
  data: string,
  keyDir: string,
  base: string,
  scopes = 'system/*.*',
): Promise<{ authorization: string }> {
  return clientToken(base, addClient(data, keyDir, scopes));
}
