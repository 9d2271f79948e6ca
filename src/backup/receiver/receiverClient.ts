/**
 * HTTPS requests from a practice server to its receiver: TLS 1.2+, the practice's client certificate
 * presented, and the receiver's certificate pinned by fingerprint. The fingerprint is checked right
 * after the handshake, before a single byte of the request is sent (the pairing code included), so a
 * man in the middle gets nothing. Connections are kept alive; requests that fail on the way (no
 * connection, 5xx, 429) are retried a few times before the error is reported.
 */
import { Agent, request } from 'node:https';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { BackupError } from '../backupError.ts';
import { displayFingerprint, normalizeFingerprint } from './fingerprint.ts';

export interface ReceiverConnection {
  /** https://HOST:PORT */
  url: string;
  /** The receiver certificate's SHA-256 fingerprint (hex). */
  fingerprint: string;
  /** The practice's client certificate and key (PEM). */
  cert: string;
  key: string;
}

export interface ReceiverResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** The receiver presented a certificate other than the pinned one. */
export class FingerprintMismatch extends BackupError {}

class PinnedAgent extends Agent {
  constructor(private readonly connection: ReceiverConnection) {
    super({ keepAlive: true, maxSockets: 4, maxCachedSessions: 0 });
  }

  override createConnection(
    options: ConnectionOptions,
    callback: (error: Error | null, socket?: Duplex) => void,
  ): undefined {
    const socket: TLSSocket = connect({
      host: options.host,
      port: options.port,
      servername: undefined,
      cert: this.connection.cert,
      key: this.connection.key,
      minVersion: 'TLSv1.2',
      // Self-signed: trust comes from the fingerprint check below, not from a CA.
      rejectUnauthorized: false,
    });
    socket.once('error', (error) => callback(error));
    socket.once('secureConnect', () => {
      const presented = normalizeFingerprint(socket.getPeerCertificate().fingerprint256 ?? '');
      if (presented !== this.connection.fingerprint) {
        socket.destroy();
        callback(
          new FingerprintMismatch(
            `The receiver at ${this.connection.url} presented the certificate SHA256 ${presented ? displayFingerprint(presented) : '(none)'}, ` +
              `not the pinned ${displayFingerprint(this.connection.fingerprint)}. Nothing was sent. ` +
              'Check the fingerprint printed by chartvault receiver pair; another certificate can mean a man in the middle.',
          ),
        );
        return;
      }
      callback(null, socket);
    });
    return undefined;
  }
}

export interface RequestOptions {
  method: string;
  path: string;
  body?: Buffer;
  headers?: Record<string, string>;
  /** Attempts for connection failures, 429 and 5xx (default 3). */
  attempts?: number;
}

export class ReceiverClient {
  private readonly agent: PinnedAgent;
  private readonly base: URL;

  constructor(readonly connection: ReceiverConnection) {
    this.base = parseReceiverUrl(connection.url);
    this.agent = new PinnedAgent(connection);
  }

  async request(options: RequestOptions): Promise<ReceiverResponse> {
    const attempts = options.attempts ?? 3;
    for (let attempt = 1; ; attempt++) {
      let response: ReceiverResponse | undefined;
      let failure: Error | undefined;
      try {
        response = await this.once(options);
      } catch (error) {
        if (error instanceof FingerprintMismatch) throw error;
        failure = error as Error;
      }
      const retryable = failure !== undefined || response!.status === 429 || response!.status >= 500;
      if (!retryable) return response!;
      if (attempt >= attempts) {
        if (response) return response;
        throw new BackupError(
          `The receiver ${this.connection.url} cannot be reached (${failure!.message}) after ${attempts} attempts; check that it runs and the network between the two machines.`,
        );
      }
      const retryAfter = Number(response?.headers['retry-after'] ?? 0);
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(10_000, retryAfter > 0 ? retryAfter * 1000 : 250 * 4 ** (attempt - 1))),
      );
    }
  }

  close(): void {
    this.agent.destroy();
  }

  private once(options: RequestOptions): Promise<ReceiverResponse> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          agent: this.agent,
          host: this.base.hostname.replace(/^\[|\]$/g, ''),
          port: this.base.port || 443,
          method: options.method,
          path: options.path,
          headers: {
            ...(options.body ? { 'content-length': String(options.body.length) } : {}),
            ...options.headers,
          },
          timeout: 120_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('no answer within 120 s')));
      req.on('error', reject);
      req.end(options.body);
    });
  }
}

/** The receiver's address, checked: https, a host, a port, nothing else. */
export function parseReceiverUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new BackupError(`${text} is not a receiver address; give it as https://HOST:PORT.`);
  }
  if (
    url.protocol !== 'https:' ||
    (url.pathname !== '/' && url.pathname !== '') ||
    url.search ||
    url.username
  )
    throw new BackupError(`${text} is not a receiver address; give it as https://HOST:PORT.`);
  return url;
}

/** The error message a receiver sent (JSON `{error}`), or the status line. */
export function receiverMessage(response: ReceiverResponse): string {
  try {
    const parsed = JSON.parse(response.body.toString()) as { error?: string };
    if (parsed.error) return parsed.error;
  } catch {
    // not JSON
  }
  return `HTTP ${response.status}`;
}
