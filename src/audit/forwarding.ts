/**
 * Forwarding (docs/audit-chain.md, section 7): committed entries are sent to a JSON-lines file and/or a
 * syslog collector over TLS (RFC 5424 messages, RFC 5425 octet-counting framing), in order, each
 * once per destination. What was sent is remembered in the data directory, so that a restart goes on
 * where it stopped, and entries written by other processes (the CLI beside `serve`) are sent too.
 * Forwarded entries carry no search query string: it may hold patient data.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import type { AuditLogStore, AuditRecord } from '../store/index.ts';
import { appendLineDurably } from './checkpoints.ts';

export const FORWARDING_FILE = 'audit-forwarding.json';
const STATE_FILE = 'audit-forwarded.json';
const BATCH = 500;

export interface ForwardingSettings {
  /** JSON lines appended to this file. */
  file?: string;
  syslog?: { host: string; port: number; ca?: string };
  /** Entries from this seq on are forwarded (set when forwarding is configured). */
  fromSeq: number;
}

export class ForwardingError extends Error {}

export function readForwardingSettings(dataDir: string): ForwardingSettings | undefined {
  const file = join(resolve(dataDir), FORWARDING_FILE);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ForwardingSettings;
  } catch {
    throw new ForwardingError(
      `${file} is not valid JSON; set forwarding again with chartvault audit forward.`,
    );
  }
}

export function writeForwardingSettings(dataDir: string, settings: ForwardingSettings): void {
  writeJsonAtomically(join(resolve(dataDir), FORWARDING_FILE), settings);
}

/** What a collector receives for one entry: its number, chain hash and content without the query. */
export function forwardedRecord(record: AuditRecord): { seq: number; hash: string; entry: unknown } {
  const entry = JSON.parse(record.entry) as { detail?: Record<string, unknown> };
  if (entry.detail && 'query' in entry.detail) {
    const { query: _query, ...rest } = entry.detail;
    entry.detail = Object.keys(rest).length > 0 ? rest : undefined;
  }
  return { seq: record.seq, hash: record.hash.toString('hex'), entry };
}

/** An RFC 5424 message for an entry, framed by octet counting (RFC 5425 section 4.3). */
export function syslogFrame(record: AuditRecord): string {
  const forwarded = forwardedRecord(record);
  const entry = forwarded.entry as { time: string; action: string; outcome: string };
  // Facility 13 (log audit); severity 6 (informational) or 4 (warning) for a failure.
  const pri = 13 * 8 + (entry.outcome === 'success' ? 6 : 4);
  const msgId = printable(entry.action, 32);
  const message = `<${pri}>1 ${entry.time} ${printable(hostname(), 255)} chartvault ${process.pid} ${msgId} - ${JSON.stringify(forwarded)}`;
  return `${Buffer.byteLength(message)} ${message}`;
}

const printable = (text: string, max: number) => text.replace(/[^\x21-\x7e]/g, '_').slice(0, max) || '-';

/** Sends entries after the remembered position to every configured destination. */
export class AuditForwarder {
  private readonly stateFile: string;
  private state: { file?: number; syslog?: number };
  private socket?: TLSSocket;
  private running?: Promise<void>;
  private again = false;

  constructor(
    private readonly store: AuditLogStore,
    dataDir: string,
    private readonly settings: ForwardingSettings,
    private readonly log: (line: string) => void = () => undefined,
  ) {
    this.stateFile = join(resolve(dataDir), STATE_FILE);
    this.state = existsSync(this.stateFile)
      ? (JSON.parse(readFileSync(this.stateFile, 'utf8')) as typeof this.state)
      : {};
  }

  /** Forwards what is new; calls made while one runs are merged into one more run. */
  pump(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.pumpOnce();
      } while (this.again);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pumpOnce(): Promise<void> {
    if (this.settings.file) await this.forwardTo('file', (records) => this.toFile(records));
    if (this.settings.syslog) await this.forwardTo('syslog', (records) => this.toSyslog(records));
  }

  private async forwardTo(
    destination: 'file' | 'syslog',
    send: (records: AuditRecord[]) => Promise<void>,
  ): Promise<void> {
    try {
      for (;;) {
        const after = this.state[destination] ?? this.settings.fromSeq - 1;
        const records = await this.store.auditEntriesAfter(after, BATCH);
        if (records.length === 0) return;
        await send(records);
        this.state[destination] = records[records.length - 1]!.seq;
        writeJsonAtomically(this.stateFile, this.state);
      }
    } catch (error) {
      // Kept for the next run: entries are sent late rather than lost.
      this.log(`audit forwarding to ${destination} failed, will retry: ${(error as Error).message}`);
      this.socket?.destroy();
      this.socket = undefined;
    }
  }

  private async toFile(records: AuditRecord[]): Promise<void> {
    appendLineDurably(this.settings.file!, records.map((r) => JSON.stringify(forwardedRecord(r))).join('\n'));
  }

  private async toSyslog(records: AuditRecord[]): Promise<void> {
    const socket = await this.connect();
    const data = records.map(syslogFrame).join('');
    await new Promise<void>((done, fail) => socket.write(data, (error) => (error ? fail(error) : done())));
  }

  private connect(): Promise<TLSSocket> {
    if (this.socket && !this.socket.destroyed) return Promise.resolve(this.socket);
    const { host, port, ca } = this.settings.syslog!;
    return new Promise((done, fail) => {
      const socket = connect({
        host,
        port,
        ca: ca ? readFileSync(ca) : undefined,
        servername: /^[\d.:]+$/.test(host) ? undefined : host,
      });
      socket.once('secureConnect', () => {
        socket.removeListener('error', fail);
        socket.on('error', () => socket.destroy());
        this.socket = socket;
        done(socket);
      });
      socket.once('error', fail);
    });
  }

  async close(): Promise<void> {
    await this.pump();
    this.socket?.end();
    this.socket = undefined;
  }
}

function writeJsonAtomically(file: string, value: unknown): void {
  const temporary = `${file}.tmp`;
  writeFileSync(temporary, JSON.stringify(value, null, 2) + '\n', { mode: 0o600 });
  renameSync(temporary, file);
}
