/**
 * The receiver's HTTPS server (TLS 1.2+, mutual authentication). Its certificate is self-signed and
 * the practice pins it by fingerprint; the practices' client certificates are self-signed too, so the
 * TLS layer asks for one without judging it (`requestCert`, not `rejectUnauthorized`) and each
 * request is admitted only when the certificate's fingerprint is one recorded at pairing.
 *
 * What a paired practice may do: put an object if its name is free, read an object, its size, and the
 * list of names. There is no request that deletes or replaces anything; a put whose name exists with
 * other bytes is refused and raises an alarm (console and alarms.log).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { BackupError } from '../backupError.ts';
import { normalizeFingerprint } from './fingerprint.ts';
import { isListPrefix, isObjectName, OBJECT_NAME_RULE } from './objectNames.ts';
import { claimPairingCode, PairingRefused } from './pairingCodes.ts';
import { BodyMismatch, ObjectTooLarge, PracticeObjects } from './practiceObjects.ts';
import { RateLimiter, type RateLimit } from './rateLimiter.ts';
import { ReceiverHome } from './receiverHome.ts';

export const DEFAULT_MAX_OBJECT_BYTES = 256 * 1024 * 1024;
const PAIR_BODY_LIMIT = 4096;

export interface ReceiverOptions {
  dataDir: string;
  host: string;
  port: number;
  maxObjectBytes?: number;
  /** Per paired practice. */
  rate?: RateLimit;
  /** Per address, for requests without a paired certificate (pairing attempts included). */
  anonymousRate?: RateLimit;
  log?: (line: string) => void;
}

export interface RunningReceiver {
  url: string;
  port: number;
  fingerprint: string;
  close(): Promise<void>;
}

class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export async function startReceiver(options: ReceiverOptions): Promise<RunningReceiver> {
  const home = new ReceiverHome(options.dataDir);
  const identity = await home.open();
  const log = options.log ?? ((line: string) => console.log(line));
  const maxObjectBytes = options.maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES;
  const practiceRate = new RateLimiter(options.rate ?? { burst: 1000, perSecond: 200 });
  const anonymousRate = new RateLimiter(options.anonymousRate ?? { burst: 20, perSecond: 1 / 3 });
  let clients = new Map<string, string>();
  const loadClients = () => {
    clients = new Map(home.practices().flatMap((p) => p.clients.map((c) => [c.fingerprint, p.id] as const)));
  };
  loadClients();

  const peerFingerprint = (req: IncomingMessage): string | undefined => {
    const certificate = (req.socket as TLSSocket).getPeerCertificate();
    return certificate && certificate.fingerprint256
      ? normalizeFingerprint(certificate.fingerprint256)
      : undefined;
  };
  const address = (req: IncomingMessage) => req.socket.remoteAddress ?? 'unknown';
  const throttle = (limiter: RateLimiter, key: string) => {
    const wait = limiter.take(key);
    if (wait > 0)
      throw new Refusal(429, `too many requests; retry in ${wait} s`, { 'retry-after': String(wait) });
  };

  async function pair(req: IncomingMessage, fingerprint: string | undefined): Promise<[number, object]> {
    throttle(anonymousRate, address(req));
    if (!fingerprint)
      throw new Refusal(
        401,
        'pairing needs the client certificate of the practice server; none was presented',
      );
    const body = JSON.parse((await readSmallBody(req, PAIR_BODY_LIMIT)).toString() || '{}') as {
      code?: unknown;
    };
    if (clients.has(fingerprint))
      throw new Refusal(
        409,
        `this client certificate is already paired as practice ${clients.get(fingerprint)}`,
      );
    let pending;
    try {
      pending = claimPairingCode(home.pairingFolder, typeof body.code === 'string' ? body.code : '');
    } catch (error) {
      if (error instanceof PairingRefused) {
        log(`Pairing refused from ${address(req)}: ${error.message}`);
        throw new Refusal(403, error.message);
      }
      throw error;
    }
    let practice;
    if (pending.practice) {
      practice = home.practice(pending.practice);
      const now = new Date().toISOString();
      practice.clients = [...(pending.replace ? [] : practice.clients), { fingerprint, pairedAt: now }];
      home.savePractice(practice);
    } else {
      practice = home.addPractice(pending.label, fingerprint);
    }
    loadClients();
    log(
      `Paired practice ${practice.id} (${practice.label}) from ${address(req)}; client certificate ${fingerprint.slice(0, 16)}...` +
        (pending.replace ? ' (replaces its earlier clients)' : ''),
    );
    return [201, { practice: practice.id, label: practice.label }];
  }

  async function objects(req: IncomingMessage, res: ServerResponse, practice: string, name: string) {
    if (!isObjectName(name))
      throw new Refusal(400, `${JSON.stringify(name.slice(0, 200))}: ${OBJECT_NAME_RULE}`);
    const store = new PracticeObjects(home.objectsFolder(practice));
    if (req.method === 'GET' || req.method === 'HEAD') {
      const found = await store.open(name);
      if (!found) throw new Refusal(404, `no object ${name}`);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': found.size });
      if (req.method === 'HEAD') {
        found.stream.destroy();
        res.end();
        return;
      }
      found.stream.pipe(res);
      return;
    }
    if (req.method !== 'PUT')
      throw new Refusal(
        405,
        'a receiver never deletes or replaces objects over the network; only put-if-absent, get, size and list exist',
        { allow: 'GET, HEAD, PUT' },
      );
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > maxObjectBytes)
      throw new Refusal(413, `objects are limited to ${maxObjectBytes} bytes on this receiver`);
    const sha256 = String(req.headers['x-content-sha256'] ?? '');
    if (!/^[0-9a-f]{64}$/.test(sha256))
      throw new Refusal(400, 'a put needs the x-content-sha256 header (hex)');
    let result;
    try {
      result = await store.put(name, req, { maxBytes: maxObjectBytes, sha256 });
    } catch (error) {
      if (error instanceof ObjectTooLarge)
        throw new Refusal(413, `objects are limited to ${maxObjectBytes} bytes on this receiver`);
      if (error instanceof BodyMismatch) throw new Refusal(400, error.message);
      throw error;
    }
    if (result.outcome === 'conflict') {
      const reason = `put with other content refused (stored ${result.existingSize} bytes sha256 ${result.existingSha256.slice(0, 16)}..., offered ${result.size} bytes sha256 ${result.sha256.slice(0, 16)}...)`;
      home.raiseAlarm({ at: new Date().toISOString(), practice, object: name, reason, from: address(req) });
      log(
        `ALARM: practice ${practice}: ${name}: ${reason}. Someone tried to replace a backup object; see ${home.alarmFile}.`,
      );
      throw new Refusal(
        409,
        `${name} already exists with other content; it was not overwritten. The receiver raised an alarm.`,
      );
    }
    sendJson(res, result.outcome === 'written' ? 201 : 200, { outcome: result.outcome });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const [path, query = ''] = (req.url ?? '').split('?', 2) as [string, string?];
    const fingerprint = peerFingerprint(req);
    if (path === '/v1/pair' && req.method === 'POST') {
      const [status, body] = await pair(req, fingerprint);
      return sendJson(res, status, body);
    }
    if (!fingerprint) {
      throttle(anonymousRate, address(req));
      throw new Refusal(
        401,
        'no client certificate: pair this practice server first (chartvault backup pair)',
      );
    }
    let practice = clients.get(fingerprint);
    if (!practice) {
      throttle(anonymousRate, address(req));
      loadClients();
      practice = clients.get(fingerprint);
    }
    if (!practice) {
      log(`Refused an unpaired client certificate ${fingerprint.slice(0, 16)}... from ${address(req)}.`);
      throw new Refusal(403, 'this client certificate is not paired with this receiver');
    }
    throttle(practiceRate, practice);
    if (path.startsWith('/v1/objects/'))
      return objects(req, res, practice, path.slice('/v1/objects/'.length));
    if (path === '/v1/list' && req.method === 'GET') {
      const prefix = new URLSearchParams(query).get('prefix') ?? '';
      if (!isListPrefix(prefix))
        throw new Refusal(400, `cannot list ${JSON.stringify(prefix.slice(0, 200))}`);
      return sendJson(res, 200, {
        objects: await new PracticeObjects(home.objectsFolder(practice)).list(prefix),
      });
    }
    if (path === '/v1/whoami' && req.method === 'GET') return sendJson(res, 200, { practice });
    throw new Refusal(404, 'no such request on a ChartVault receiver');
  }

  const server = createServer(
    {
      cert: identity.cert,
      key: identity.key,
      minVersion: 'TLSv1.2',
      requestCert: true,
      rejectUnauthorized: false,
    },
    (req, res) => {
      handle(req, res).catch((error: unknown) => {
        const refusal =
          error instanceof Refusal
            ? error
            : error instanceof SyntaxError
              ? new Refusal(400, 'the request body is not JSON')
              : undefined;
        if (!refusal)
          log(`Receiver error on ${req.method} ${req.url?.slice(0, 120)}: ${(error as Error).message}`);
        req.resume();
        if (res.headersSent) return void res.destroy();
        res.setHeader('connection', 'close');
        for (const [name, value] of Object.entries(refusal?.headers ?? {})) res.setHeader(name, value);
        sendJson(res, refusal?.status ?? 500, {
          error: refusal?.message ?? 'the receiver failed to handle the request; see its console',
        });
      });
    },
  );
  server.headersTimeout = 30_000;
  server.requestTimeout = 15 * 60_000;
  server.keepAliveTimeout = 10_000;
  server.maxConnections = 200;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new BackupError(`port ${options.port} on ${options.host} is in use; choose another with --port.`)
          : error,
      ),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `https://${host}:${port}`,
    port,
    fingerprint: identity.fingerprint,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function sendJson(res: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readSmallBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new Refusal(413, 'request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
