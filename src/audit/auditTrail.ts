/**
 * The audit trail of one open store, for the process that serves or changes it: the signing key
 * (made on first use), checkpoints every N entries, every T seconds and on close, and forwarding.
 */
import type { ResourceStore } from '../store/index.ts';
import { writeCheckpoint } from './checkpoints.ts';
import { AuditForwarder, readForwardingSettings } from './forwarding.ts';
import { ensureAuditSigningKey, type AuditSigningKey } from './signingKey.ts';

export const CHECKPOINT_EVERY_ENTRIES = 1000;
export const CHECKPOINT_EVERY_SECONDS = 60;

export interface AuditTrailOptions {
  store: ResourceStore;
  dataDir: string;
  keyDir: string;
  storeId: string;
  /** Forward entries as they are committed (serve), when forwarding is configured. */
  forward?: boolean;
  checkpointEveryEntries?: number;
  checkpointEverySeconds?: number;
  log?: (line: string) => void;
}

export class AuditTrail {
  private readonly key: AuditSigningKey;
  private lastCheckpointSeq = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly unsubscribe: () => void;
  private readonly timer?: NodeJS.Timeout;
  private readonly forwarder?: AuditForwarder;
  private readonly every: number;

  private constructor(private readonly options: AuditTrailOptions) {
    this.key = ensureAuditSigningKey(options.keyDir, options.storeId);
    this.every = options.checkpointEveryEntries ?? CHECKPOINT_EVERY_ENTRIES;
    const settings = options.forward ? readForwardingSettings(options.dataDir) : undefined;
    if (settings) this.forwarder = new AuditForwarder(options.store, options.dataDir, settings, options.log);
    this.unsubscribe = options.store.onAuditCommitted((seq) => {
      if (seq - this.lastCheckpointSeq >= this.every) void this.checkpoint();
      void this.forwarder?.pump();
    });
    const seconds = options.checkpointEverySeconds ?? CHECKPOINT_EVERY_SECONDS;
    this.timer = setInterval(() => {
      void this.checkpoint();
      // Also picks up entries that other processes (the CLI beside serve) appended.
      void this.forwarder?.pump();
    }, seconds * 1000);
    this.timer.unref();
  }

  /** Opens the trail and signs a checkpoint when the chain moved since the last one. */
  static async open(options: AuditTrailOptions): Promise<AuditTrail> {
    const trail = new AuditTrail(options);
    const checkpoints = await options.store.auditCheckpoints();
    trail.lastCheckpointSeq = checkpoints.at(-1)?.seq ?? 0;
    await trail.checkpoint();
    void trail.forwarder?.pump();
    return trail;
  }

  /** Signs the head now (one at a time); nothing when the newest checkpoint covers it. */
  checkpoint(): Promise<void> {
    const run = this.chain.then(async () => {
      try {
        const line = await writeCheckpoint(this.options.store, {
          dataDir: this.options.dataDir,
          storeId: this.options.storeId,
          key: this.key,
        });
        if (line) this.lastCheckpointSeq = line.seq;
      } catch (error) {
        (this.options.log ?? console.error)(`audit checkpoint failed: ${(error as Error).message}`);
      }
    });
    this.chain = run;
    return run;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.unsubscribe();
    await this.checkpoint();
    await this.forwarder?.close();
  }
}
