/**
 * Forwarding: `chartvault audit forward` set up, `serve` sends committed entries to a JSON-lines file
 * and to a real syslog-over-TLS listener (RFC 5425 octet counting) started here, without query strings.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createServer, type Server } from 'node:tls';
import { chartvault, clientAuthorization, startServe, stopProcess } from '../cli.ts';
import { fhirFetch } from '../testServer.ts';
import { tempFolder } from '../testStore.ts';

/** Splits RFC 5425 frames (`LENGTH SP MESSAGE`) off a byte stream. */
function frames(stream: Buffer): string[] {
  const out: string[] = [];
  let at = 0;
  while (at < stream.length) {
    const space = stream.indexOf(0x20, at);
    if (space < 0) break;
    const length = Number(stream.subarray(at, space).toString());
    if (stream.length < space + 1 + length) break;
    out.push(stream.subarray(space + 1, space + 1 + length).toString());
    at = space + 1 + length;
  }
  return out;
}

async function until<T>(what: string, check: () => T | undefined, ms = 15000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('audit forwarding', () => {
  const folder = tempFolder('chartvault-audit-forward-');
  const data = join(folder.path, 'data');
  const keys = join(folder.path, 'keys');
  const jsonLines = join(folder.path, 'audit.jsonl');
  let syslog: Server;
  let received = Buffer.alloc(0);
  let serve: Awaited<ReturnType<typeof startServe>> | undefined;
  let auth: { authorization: string };

  before(async () => {
    const cert = join(folder.path, 'syslog.crt');
    const key = join(folder.path, 'syslog.key');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    syslog = createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (socket) => {
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
      });
    });
    await new Promise<void>((resolve) => syslog.listen(0, '127.0.0.1', resolve));
    const port = (syslog.address() as { port: number }).port;
    assert.equal(chartvault('init', '--data', data, '--key-dir', keys, '--yes').status, 0);
    const forward = chartvault(
      'audit',
      'forward',
      '--data',
      data,
      '--key-dir',
      keys,
      '--to-file',
      jsonLines,
      '--syslog-tls',
      `127.0.0.1:${port}`,
      '--ca',
      cert,
    );
    assert.equal(forward.status, 0, forward.stderr);
    assert.match(forward.stdout, /will be forwarded/);
    serve = await startServe(data, keys);
    auth = await clientAuthorization(data, keys, serve.base);
  });
  after(async () => {
    if (serve) await stopProcess(serve.process);
    syslog?.close();
    folder.remove();
  });

  test('entries reach the JSON-lines file and the TLS syslog collector, without the search query', async () => {
    const created = await fhirFetch(`${serve!.base}/Patient`, {
      method: 'POST',
      body: { resourceType: 'Patient', name: [{ family: 'Wrenhollow' }] },
      headers: auth,
    });
    assert.equal(created.status, 201);
    const searched = await fhirFetch(`${serve!.base}/Patient?family=Wrenhollow`, { headers: auth });
    assert.equal(searched.status, 200);
    assert.equal(searched.body.entry?.length, 1, JSON.stringify(searched.body));

    const lines = await until('the JSON lines', () => {
      if (!existsSync(jsonLines)) return undefined;
      const parsed = readFileSync(jsonLines, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      return parsed.some((l) => l.entry.action === 'search') ? parsed : undefined;
    });
    const create = lines.find((l) => l.entry.action === 'create');
    assert.equal(create.entry.resource.id, created.body.id);
    assert.match(create.hash, /^[0-9a-f]{64}$/);
    const search = lines.find((l) => l.entry.action === 'search');
    assert.deepEqual(search.entry.patients, [created.body.id]);
    assert.equal(search.entry.detail.query, undefined);
    assert.ok(!readFileSync(jsonLines, 'utf8').includes('Wrenhollow'), 'no search value leaves the store');

    const messages = await until('the syslog messages', () => {
      const all = frames(received);
      return all.some((m) => / search - /.test(m)) ? all : undefined;
    });
    for (const message of messages)
      assert.match(message, /^<1(10|08)>1 \d{4}-\d\d-\d\dT\S+Z \S+ chartvault \d+ [\w-]+ - \{/);
    const forwarded = JSON.parse(messages.find((m) => / search - /.test(m))!.replace(/^.*? search - /, ''));
    assert.equal(forwarded.seq, search.seq);
    assert.ok(!received.toString().includes('Wrenhollow'));
  });
});
