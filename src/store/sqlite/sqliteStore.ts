/**
 * The embedded store: one encrypted SQLite file in WAL mode, a writer connection and a reader connection.
 * Writes are serialised through one queue (SQLite has one writer) and each runs in an IMMEDIATE
 * transaction, which also waits, up to the busy timeout, for writers in other processes (the CLI while
 * `serve` runs). Reads use their own connection and so see only committed data.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { extractIndexEntries } from '../../fhir/indexExtraction.ts';
import { FhirError } from '../../fhir/outcome.ts';
import type { SearchRequest } from '../../fhir/searchRequest.ts';
import type { Resource } from '../../fhir/types.ts';
import type {
  AuditAppended,
  AuditContext,
  AuditEntryDraft,
  AuditQuery,
  AuditRecord,
  BackupPoint,
  BatchWrite,
  BatchWriteOutcome,
  HistoryRequest,
  ResourceStore,
  RestoreSink,
  SecurityRecords,
  StoreOperations,
  WriteOptions,
} from '../types.ts';
import { osUserAgent } from '../osUserAgent.ts';
import { checkAuditLinks, type LinkReport } from './auditLinkCheck.ts';
import { AuditLog, createAuditTables } from './auditLog.ts';
import { openConnection, type Connection } from './connection.ts';
import type { Transaction } from 'better-sqlite3-multiple-ciphers';
import { toIndexRows } from './indexWriter.ts';
import { ResourceTables, type SerializedWrite } from './resourceTables.ts';
import { ensureRecordTable, RecordTable, securityRecords, transactionRecords } from './recordTable.ts';
import { INDEX_LOOKUP_INDEXES, SCHEMA_SQL, SCHEMA_VERSION } from './schema.ts';
import { unstampedJson } from './storedJson.ts';
import {
  readVersionMark,
  readVersionsAfter,
  VersionReplayer,
  type RawVersion,
  type VersionMark,
} from './versionLog.ts';

export interface BulkOperations extends StoreOperations {
  /** Writes serialized writes in order and says what each did. */
  writeSerialized(writes: SerializedWrite[]): BatchWriteOutcome[];
}

export class SqliteStore implements ResourceStore {
  private readonly writer: Connection;
  private readonly reader: Connection;
  private readonly writeTables: ResourceTables;
  private readonly readTables: ResourceTables;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly writeAudit: AuditLog;
  private readonly readAudit: AuditLog;
  /** Audit entries waiting for the next group commit. */
  private pendingAudit: {
    draft: AuditEntryDraft;
    resolve: (appended: AuditAppended) => void;
    reject: (error: unknown) => void;
  }[] = [];
  private readonly auditListeners = new Set<(lastSeq: number) => void>();
  /**
   * Who writes that carry no audit context are attributed to: the operating-system user running this
   * process (a CLI command; the server passes the requester with each write).
   */
  defaultAudit: AuditContext = { agent: osUserAgent() };
  private readonly writeRecords: RecordTable;
  /** Security records (accounts, clients, ...); see recordTable.ts. */
  readonly records: SecurityRecords;

  private walSync?: Promise<void>;
  private walDirty = false;
  /** The write-ahead log, kept open for its fsyncs while the store is open. */
  private walHandle?: Promise<FileHandle>;
  /** True while the writer runs with synchronous = NORMAL (audit-only transactions). */
  private walOnly = false;
  /** A transaction running the function it is given (made once: making one per commit costs). */
  private readonly walTransaction: Transaction<(work: () => unknown) => unknown>;
  /** The last seq whose per-patient rows are written (see AuditLog.indexPatients). */
  private patientsIndexed: number;
  private patientIndexing?: Promise<void>;
  private patientIndexTimer?: NodeJS.Timeout;

  private constructor(
    private readonly file: string,
    private readonly key: Buffer,
    create: boolean,
  ) {
    this.writer = openConnection(file, key, { create });
    migrate(this.writer);
    createAuditTables(this.writer);
    this.reader = openConnection(file, key, { create: false });
    this.writeTables = new ResourceTables(this.writer);
    this.writeTables.rebuildIndexIfPending(); // after a schema upgrade that changed the index tables
    this.readTables = new ResourceTables(this.reader);
    this.writeAudit = new AuditLog(this.writer);
    this.readAudit = new AuditLog(this.reader);
    this.patientsIndexed = this.writeAudit.patientsIndexedThrough();
    this.walTransaction = this.writer.transaction((work: () => unknown) => work());
    this.writeTables.onVersionWritten = (written, audit) =>
      this.writeAudit.appendWrite(written, audit ?? this.defaultAudit);
    ensureRecordTable(this.writer);
    this.writeRecords = new RecordTable(this.writer);
    this.records = securityRecords(new RecordTable(this.reader), this.writeRecords, (work) =>
      this.exclusive(work),
    );
  }

  static open(file: string, key: Buffer, options: { create?: boolean } = {}): SqliteStore {
    return new SqliteStore(file, key, options.create ?? false);
  }

  create(resource: Resource, options?: WriteOptions) {
    return this.exclusive(() => this.writeTables.create(resource, options));
  }

  update(resource: Resource, options?: WriteOptions) {
    return this.exclusive(() => this.writeTables.update(resource, options));
  }

  delete(resourceType: string, id: string, options?: WriteOptions) {
    return this.exclusive(() => this.writeTables.delete(resourceType, id, options));
  }

  async read(resourceType: string, id: string) {
    return this.readTables.read(resourceType, id);
  }

  async readJson(resourceType: string, id: string) {
    return this.readTables.readJson(resourceType, id);
  }

  async vread(resourceType: string, id: string, versionId: string) {
    return this.readTables.vread(resourceType, id, versionId);
  }

  async history(request: HistoryRequest) {
    return this.readTables.history(request);
  }

  async search(request: SearchRequest) {
    return this.readTables.search(request);
  }

  async countByType() {
    return this.readTables.countByType();
  }

  async writeBatch(writes: BatchWrite[]): Promise<BatchWriteOutcome[]> {
    const serialized = writes.map(serializeWrite);
    return this.exclusive(() => serialized.map((w) => this.writeTables.writeSerialized(w)));
  }

  // ---- The audit chain (docs/audit-chain.md) ----

  /** Group commit: entries arriving while the writer is busy, or in the same turn, share one transaction. */
  appendAudit(draft: AuditEntryDraft): Promise<AuditAppended> {
    return new Promise((resolve, reject) => {
      this.pendingAudit.push({ draft, resolve, reject });
      if (this.pendingAudit.length === 1) void this.enqueue(() => this.flushAudit(), true);
    });
  }

  private async flushAudit(): Promise<void> {
    // Let the requests that arrived in this turn of the event loop join the batch.
    await new Promise((resolve) => setImmediate(resolve));
    const batch = this.pendingAudit;
    this.pendingAudit = [];
    if (batch.length === 0) return;
    let appended: AuditAppended[];
    try {
      appended = this.commitToWal(() => this.writeAudit.appendMany(batch.map((p) => p.draft)));
    } catch (error) {
      this.writeAudit.appendedSeq = undefined;
      for (const p of batch) p.reject(error);
      return;
    }
    this.auditCommitted();
    batch.forEach((p, i) => p.resolve(appended[i]!));
  }

  /**
   * Runs `work` in an IMMEDIATE transaction committed to the WAL without waiting for the disk
   * (synchronous = NORMAL), then fsyncs the WAL off the event loop: the commit survives a crash of
   * this process at once, and a power cut once that fsync is done, a few ms later (docs/audit-chain.md,
   * section 5). For audit-only transactions: waiting for the disk would cap reads at one group per fsync.
   */
  private commitToWal<T>(work: () => T): T {
    this.setWalOnly(true);
    try {
      return this.walTransaction.immediate(work) as T;
    } finally {
      this.syncWalSoon();
    }
  }

  /**
   * Switches the writer between synchronous = NORMAL (true) and FULL, only when it changes (a PRAGMA
   * takes effect when prepared, so it cannot be prepared once and run again).
   */
  private setWalOnly(walOnly: boolean): void {
    if (this.walOnly === walOnly) return;
    this.writer.pragma(`synchronous = ${walOnly ? 'NORMAL' : 'FULL'}`);
    this.walOnly = walOnly;
  }

  /** fsyncs the WAL off the event loop; commits made meanwhile are covered by one more fsync after it. */
  private syncWalSoon(): void {
    if (this.walSync) {
      this.walDirty = true;
      return;
    }
    this.walDirty = false;
    this.walHandle ??= open(`${this.file}-wal`, 'r');
    this.walSync = this.walHandle
      .then((handle) => handle.sync())
      .catch((error: Error) => {
        // Opened again for the next fsync.
        void this.walHandle?.then((handle) => handle.close()).catch(() => undefined);
        this.walHandle = undefined;
        console.error(`audit: fsync of the write-ahead log failed: ${error.message}`);
      })
      .finally(() => {
        this.walSync = undefined;
        if (this.walDirty) this.syncWalSoon();
      });
  }

  /**
   * Writes the per-patient rows of the entries appended since the last time, many entries per
   * transaction: each patient's part of the index is then written once per batch, not once per group
   * commit (the index is derived from the entries, section 3). Resolves when all are written.
   */
  private indexAuditPatients(): Promise<void> {
    clearTimeout(this.patientIndexTimer);
    this.patientIndexTimer = undefined;
    this.patientIndexing ??= this.enqueue(async () => {
      let before: number;
      do {
        before = this.patientsIndexed;
        this.patientsIndexed = this.commitToWal(() => this.writeAudit.indexPatients());
      } while (this.patientsIndexed > before);
    }, true).finally(() => (this.patientIndexing = undefined));
    return this.patientIndexing;
  }

  /** After a commit up to `lastSeq`: its per-patient rows within a second, or at once when many wait. */
  private schedulePatientIndex(lastSeq: number): void {
    if (this.patientIndexing) return;
    if (lastSeq - this.patientsIndexed >= PATIENT_INDEX_EVERY)
      void this.indexAuditPatients().catch(logIndexError);
    else
      this.patientIndexTimer ??= setTimeout(
        () => void this.indexAuditPatients().catch(logIndexError),
        PATIENT_INDEX_DELAY_MS,
      ).unref();
  }

  async auditHead(): Promise<AuditAppended> {
    return this.readAudit.head();
  }

  async auditEntriesAfter(afterSeq: number, limit: number): Promise<AuditRecord[]> {
    return this.readAudit.entriesAfter(afterSeq, limit);
  }

  async searchAudit(query: AuditQuery): Promise<AuditRecord[]> {
    // A search by patient sees every entry appended before it: their per-patient rows first.
    if (query.patient !== undefined || query.entity?.type === 'Patient') await this.indexAuditPatients();
    return this.readAudit.search(query);
  }

  /** Every entry in seq order as raw rows [seq, time, entry, hash], read in one pass: for `audit verify`. */
  readAuditChain(): IterableIterator<[number, number, string, Buffer]> {
    return this.readAudit.iterateRaw();
  }

  /**
   * For `audit verify`: checks every entry's link to the one before it, on worker threads for a long
   * chain (each opens this database itself), and names the first entry that breaks the chain.
   */
  checkAuditLinks(options?: { threads?: number }): Promise<LinkReport> {
    return checkAuditLinks(this.reader, { file: this.file, key: this.key }, options);
  }

  addAuditCheckpoint(seq: number, line: string): Promise<void> {
    return this.exclusive(() => this.writeAudit.addCheckpoint(seq, line));
  }

  async auditCheckpoints(): Promise<{ seq: number; line: string }[]> {
    return this.readAudit.checkpoints();
  }

  onAuditCommitted(listener: (lastSeq: number) => void): () => void {
    this.auditListeners.add(listener);
    return () => this.auditListeners.delete(listener);
  }

  /** After a commit: tells the listeners (forwarding, checkpoints) that the chain has grown. */
  private auditCommitted(): void {
    const seq = this.writeAudit.appendedSeq;
    this.writeAudit.appendedSeq = undefined;
    if (seq === undefined) return;
    this.schedulePatientIndex(seq);
    for (const listener of this.auditListeners) {
      try {
        listener(seq);
      } catch (error) {
        console.error(`audit listener failed: ${(error as Error).message}`);
      }
    }
  }

  /**
   * `transaction` for bulk loads (the importer's path): `tx` also writes batches serialized ahead, by
   * import workers, so that this thread only runs the SQL. No savepoint per batch (they make a bulk
   * load twice as slow): when `work` throws, the whole transaction is rolled back.
   */
  bulkTransaction<T>(work: (tx: BulkOperations) => Promise<T>): Promise<T> {
    const writeSerialized = (writes: SerializedWrite[]) =>
      writes.map((w) => this.writeTables.writeSerialized(w));
    return this.transaction((tx) => work({ ...tx, writeSerialized }));
  }

  transaction<T>(work: (tx: StoreOperations) => Promise<T>): Promise<T> {
    return this.enqueue(async () => {
      const tables = this.writeTables;
      const tx: StoreOperations = {
        create: async (r, o) => tables.create(r, o),
        update: async (r, o) => tables.update(r, o),
        delete: async (t, id, o) => tables.delete(t, id, o),
        read: async (t, id) => tables.read(t, id),
        readJson: async (t, id) => tables.readJson(t, id),
        vread: async (t, id, v) => tables.vread(t, id, v),
        history: async (request) => tables.history(request),
        search: async (request) => tables.search(request),
        appendAudit: async (draft) => this.writeAudit.append(draft),
        records: transactionRecords(this.writeRecords),
      };
      this.writer.exec('BEGIN IMMEDIATE');
      try {
        const result = await work(tx);
        this.writer.exec('COMMIT');
        this.auditCommitted();
        return result;
      } catch (error) {
        if (this.writer.inTransaction) this.writer.exec('ROLLBACK');
        this.writeAudit.appendedSeq = undefined;
        throw error;
      }
    });
  }

  /** For backups: the newest vid and the live counts at it (see versionLog.ts). */
  versionMark(): VersionMark {
    return readVersionMark(this.reader);
  }

  /** For backups: stored versions with afterVid < vid <= throughVid, in vid order, raw. */
  versionsAfter(afterVid: number, throughVid: number, limit: number): RawVersion[] {
    return readVersionsAfter(this.reader, afterVid, throughVid, limit);
  }

  /**
   * For backups: the store at one moment (versions, audit head, new checkpoints, the records of the
   * given kinds), read in one read transaction, so that the parts of a snapshot agree.
   */
  backupPoint(options: { checkpointsAfter: number; recordKinds: readonly string[] }): BackupPoint {
    return this.reader.transaction(() => {
      const { vid, counts } = readVersionMark(this.reader);
      const head = this.readAudit.head();
      return {
        vid,
        counts,
        auditSeq: head.seq,
        auditHash: head.hash,
        checkpoints: this.readAudit.checkpointsBetween(options.checkpointsAfter, head.seq),
        records: new RecordTable(this.reader).rawRecords(options.recordKinds),
      };
    })();
  }

  /** For backups: audit entries with afterSeq < seq <= throughSeq as [seq, canonical text]. */
  auditEntryTexts(afterSeq: number, throughSeq: number, limit: number): [number, string][] {
    return this.readAudit.entryTexts(afterSeq, throughSeq, limit);
  }

  /** For backups: the stored hash of entry `seq` (undefined when there is none). */
  auditHashAt(seq: number): Buffer | undefined {
    return this.readAudit.hashAt(seq);
  }

  /**
   * For restore into a new store: versions, audit entries, checkpoints and records, written exactly as
   * `feed` hands them over, all in one transaction: when `feed` throws, nothing of it stays.
   */
  restoreBackup(feed: (sink: RestoreSink) => Promise<void>): Promise<void> {
    return this.enqueue(async () => {
      const replayer = new VersionReplayer(this.writer);
      const sink: RestoreSink = {
        versions: (rows) => replayer.append(rows),
        auditEntry: (seq, entry) => this.writeAudit.appendExact(seq, entry),
        auditCheckpoint: (seq, line) => this.writeAudit.addCheckpoint(seq, line),
        record: (row) => this.writeRecords.insertRaw(row),
      };
      this.writer.exec('BEGIN IMMEDIATE');
      try {
        // A bulk load: the lookup indexes are built once at the end rather than row by row.
        for (const index of INDEX_LOOKUP_INDEXES) this.writer.exec(`DROP INDEX IF EXISTS ${index.name}`);
        await feed(sink);
        for (const index of INDEX_LOOKUP_INDEXES) this.writer.exec(index.create);
        this.writer.exec('COMMIT');
      } catch (error) {
        if (this.writer.inTransaction) this.writer.exec('ROLLBACK');
        throw error;
      }
    });
  }

  /**
   * Refreshes the query planner's statistics (ANALYZE, on a sample of each index), so that searches
   * pick their plans from what the data holds. Worth running after a bulk load.
   */
  optimize(): Promise<void> {
    return this.enqueue(async () => {
      this.writer.pragma('analysis_limit = 1000');
      this.writer.pragma('optimize = 0x10002');
    });
  }

  async close(): Promise<void> {
    await this.queue.catch(() => undefined);
    await this.indexAuditPatients().catch(logIndexError);
    while (this.walSync) await this.walSync;
    await (await this.walHandle?.catch(() => undefined))?.close();
    this.reader.close();
    this.writer.close();
  }

  /** One write in its own IMMEDIATE transaction, after the writes queued before it. */
  private exclusive<T>(write: () => T): Promise<T> {
    return this.enqueue(async () => {
      try {
        const result = this.writer.transaction(write).immediate();
        this.auditCommitted();
        return result;
      } finally {
        this.writeAudit.appendedSeq = undefined;
      }
    });
  }

  /**
   * Runs `task` after the tasks queued before it. Every task runs with synchronous = FULL but the
   * audit-only ones (`walOnly`), which commit through commitToWal.
   */
  private enqueue<T>(task: () => Promise<T>, walOnly = false): Promise<T> {
    const start = () => {
      if (!walOnly) this.setWalOnly(false);
      return task();
    };
    const run = this.queue.then(start, start);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** Per-patient audit rows are written this many entries at a time at most, and within this delay. */
const PATIENT_INDEX_EVERY = 1000;
const PATIENT_INDEX_DELAY_MS = 1000;

function logIndexError(error: Error): void {
  console.error(`audit: writing the per-patient index failed: ${error.message}`);
}

/** A batch write as the import workers would have prepared it. */
function serializeWrite(write: BatchWrite): SerializedWrite {
  if (write.kind === 'delete') return write;
  const { resource, index, keepExisting } = write;
  if (!resource.id) throw new FhirError(400, 'An update needs the resource id.', 'required');
  return {
    kind: 'put',
    resourceType: resource.resourceType,
    id: resource.id,
    json: unstampedJson(resource),
    rows: toIndexRows(index ?? extractIndexEntries(resource)),
    keepExisting,
  };
}

function migrate(db: Connection): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new Error(
      `This database was written by a newer ChartVault (schema ${current}); upgrade ChartVault.`,
    );
  }
  if (current < SCHEMA_VERSION) {
    db.transaction(() => {
      db.exec(SCHEMA_SQL);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }).immediate();
  }
}
