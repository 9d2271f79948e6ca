/**
 * The import pipeline: worker threads prepare files in parallel (parse, validate, index, serialize); the
 * main thread only writes, in file order, many files per store transaction. A unit (a whole transaction
 * Bundle, a batch entry, an NDJSON line) is written all or nothing, and shared data lands before what
 * refers to it.
 */
import { availableParallelism } from 'node:os';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { deserialize } from 'node:v8';
import { Worker } from 'node:worker_threads';
import type { Resource } from '../fhir/types.ts';
import {
  findByCondition,
  SqliteStore,
  type BatchWrite,
  type BatchWriteOutcome,
  type ResourceStore,
  type StoreOperations,
} from '../store/index.ts';
import type { WorkerResult, WorkerTask } from './importWorker.ts';
import {
  preparedPut,
  type ImportUnit,
  type PreparedFile,
  type PreparedWrite,
  type Rejection,
} from './prepareUnits.ts';
import { findSources, type ImportSource } from './sources.ts';

export interface ImportProgress {
  filesDone: number;
  filesTotal: number;
  resources: number;
}

export interface ImportReport {
  files: number;
  /** Per resource type: how many were created, updated, or already stored unchanged. */
  byType: Record<string, { created: number; updated: number; unchanged: number; deleted: number }>;
  rejected: Rejection[];
  /** Conditional references that matched nothing or several resources, kept as logical references. */
  unresolvedReferences: number;
  seconds: number;
}

export interface ImportOptions {
  /** Worker threads preparing files; by default one per core beside the writing main thread. */
  workers?: number;
  onProgress?: (progress: ImportProgress) => void;
}

/**
 * A store transaction takes files until it holds about this many writes, or has been open this long.
 * Each commit writes out (and encrypts) every page the transaction touched and syncs the WAL, so fewer,
 * larger transactions write much less: on 159k Synthea resources, transactions of 15,000 to 30,000
 * writes took 17 to 27% less main-thread time than 5,000. The time bound caps how long a `serve`
 * running beside the import waits to write (its busy timeout is 15 s).
 */
const WRITES_PER_TRANSACTION = 20000;
const TRANSACTION_MS = 3000;

/**
 * Files handed to the workers ahead of the writer: enough to keep them busy, few enough that memory
 * stays flat. Prepared files wait serialized, outside the JavaScript heap.
 */
const FILES_AHEAD = 16;

export async function importPaths(
  store: ResourceStore,
  paths: string[],
  options: ImportOptions = {},
): Promise<ImportReport> {
  const started = performance.now();
  const { sources, problems } = findSources(paths);
  const report: ImportReport = {
    files: sources.length,
    byType: {},
    rejected: problems.map((p) => ({ source: p, reason: 'cannot be read' })),
    unresolvedReferences: 0,
    seconds: 0,
  };
  const workers = Math.min(options.workers ?? defaultWorkers(), Math.max(sources.length, 1));
  const files = new PreparedFiles(new WorkerPool(workers, workerHeapMb(sources)), sources);
  const writer = new UnitWriter(report);
  let filesDone = 0;
  try {
    while (!files.finished) {
      // One transaction takes the files that are ready, up to a size; it never waits for a worker, so
      // the write lock is not held while nothing is written. Its files stay at hand, serialized, for a retry.
      const batch = [await files.next()];
      try {
        await bulkTransaction(store, async (tx) => {
          const opened = performance.now();
          let writes = 0;
          for (const buffer of batch) {
            // `batch` grows inside this loop while the next files are ready.
            const prepared = decode(buffer);
            report.rejected.push(...prepared.rejected);
            for (const unit of prepared.units) writes += await writer.write(tx, unit);
            await nextTurn(); // lets the workers hand finished files over
            const full = writes >= WRITES_PER_TRANSACTION || performance.now() - opened >= TRANSACTION_MS;
            if (!full && !files.finished && files.nextIsReady()) batch.push(await files.next());
          }
        });
        writer.committed();
      } catch {
        // Rolled back: write the same units again, one per transaction, so that only a failing one is rejected.
        writer.rolledBack();
        for (const unit of batch.flatMap((buffer) => decode(buffer).units)) {
          try {
            await bulkTransaction(store, (tx) => writer.write(tx, unit).then(() => undefined));
            writer.committed();
          } catch (error) {
            writer.rolledBack();
            report.rejected.push({ source: unit.source, reason: (error as Error).message });
          }
        }
      }
      filesDone += batch.length;
      options.onProgress?.({ filesDone, filesTotal: sources.length, resources: writer.written });
    }
  } finally {
    await files.close();
  }
  // New statistics for the query planner: without them, searches over a large import can pick slow plans.
  if (writer.written > 0) await store.optimize();
  report.unresolvedReferences = writer.unresolvedReferences;
  report.seconds = (performance.now() - started) / 1000;
  return report;
}

/** The main thread writes; the other cores prepare. */
function defaultWorkers(): number {
  return Math.max(1, Math.min(availableParallelism() - 1, 4));
}

/**
 * A worker's heap holds the FHIR definitions (about 100 MB once parsed) and the file it prepares
 * (parsed, then serialized: a few times its size). Left unbounded, V8 lets it grow far beyond that
 * before collecting.
 */
function workerHeapMb(sources: ImportSource[]): number {
  const largestMb = Math.max(0, ...sources.map((s) => s.bytes)) / 2 ** 20;
  return Math.ceil(160 + 4 * largestMb);
}

/** The store as the import writes to it: reads for lookups (that see the import's writes), and units. */
interface ImportTransaction {
  ops: StoreOperations;
  /** Writes a unit; when it throws, the transaction is rolled back. */
  writeUnit(writes: PreparedWrite[]): Promise<BatchWriteOutcome[]>;
}

/**
 * The SQLite store takes the workers' serialized writes as they are, many units per transaction.
 * Another store gets parsed resources, each unit in a transaction of its own.
 */
function bulkTransaction(store: ResourceStore, work: (tx: ImportTransaction) => Promise<void>) {
  if (store instanceof SqliteStore)
    return store.bulkTransaction((tx) => work({ ops: tx, writeUnit: async (w) => tx.writeSerialized(w) }));
  return work({ ops: store, writeUnit: (writes) => store.writeBatch(writes.map(toBatchWrite)) });
}

function toBatchWrite(write: PreparedWrite): BatchWrite {
  if (write.kind === 'delete') return write;
  return { kind: 'put', resource: JSON.parse(write.json) as Resource, keepExisting: write.keepExisting };
}

/** A PreparedFile as the workers send it, serialized with `v8.serialize`. */
function decode(buffer: ArrayBuffer): PreparedFile {
  return deserialize(new Uint8Array(buffer)) as PreparedFile;
}

/**
 * Writes units and counts what they did. Counts and resolved references of a transaction are kept
 * apart until it commits, so that a rolled-back transaction leaves no trace.
 */
class UnitWriter {
  written = 0;
  private counts: { type: string; outcome: BatchWriteOutcome }[] = [];
  private resolver = new ConditionalReferenceResolver();
  private resolverBefore = this.resolver.copy();

  constructor(private readonly report: ImportReport) {}

  get unresolvedReferences(): number {
    return this.resolver.unresolved;
  }

  /** Writes the unit all or nothing, or throws; returns the number of writes. */
  async write(tx: ImportTransaction, unit: ImportUnit): Promise<number> {
    if (unit.conditionalReferences.length > 0) await this.resolver.resolve(tx.ops, unit);
    const outcomes = await tx.writeUnit(unit.writes);
    unit.writes.forEach((write, i) => this.counts.push({ type: write.resourceType, outcome: outcomes[i]! }));
    return outcomes.length;
  }

  committed(): void {
    for (const { type, outcome } of this.counts) {
      const counts = (this.report.byType[type] ??= { created: 0, updated: 0, unchanged: 0, deleted: 0 });
      counts[outcome]++;
    }
    this.written += this.counts.length;
    this.counts = [];
    this.resolverBefore = this.resolver.copy();
  }

  rolledBack(): void {
    this.counts = [];
    this.resolver = this.resolverBefore.copy();
  }
}

/**
 * Looks up `Practitioner?identifier=...` references once each, in the import's transaction so that
 * everything written before is seen; unresolved ones become logical references.
 */
class ConditionalReferenceResolver {
  private cache = new Map<string, string | undefined>();
  unresolved = 0;

  copy(): ConditionalReferenceResolver {
    const copy = new ConditionalReferenceResolver();
    copy.cache = new Map(this.cache);
    copy.unresolved = this.unresolved;
    return copy;
  }

  /** Resolves the unit's conditional references, then serializes and indexes its resources again. */
  async resolve(tx: StoreOperations, unit: ImportUnit): Promise<void> {
    for (const reference of unit.conditionalReferences) {
      if (this.cache.has(reference)) continue;
      const [type, query] = reference.split('?', 2) as [string, string];
      let target: string | undefined;
      try {
        const matches = await findByCondition(tx, type, query, 2);
        target = matches.length === 1 ? `${type}/${matches[0]!.id}` : undefined;
      } catch {
        target = undefined;
      }
      this.cache.set(reference, target);
    }
    unit.writes = unit.writes.map((write) =>
      write.kind === 'delete' ? write : preparedPut(this.rewrite(JSON.parse(write.json)) as Resource),
    );
  }

  private rewrite(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.rewrite(v));
    if (typeof value !== 'object' || value === null) return value;
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) out[key] = this.rewrite(child);
    const reference = out.reference;
    if (typeof reference === 'string' && this.cache.has(reference)) {
      const target = this.cache.get(reference);
      if (target) out.reference = target;
      else {
        // FHIR allows a reference by identifier alone: keep what the source said, without a dangling URL.
        this.unresolved++;
        delete out.reference;
        out.identifier ??= identifierFromCondition(reference);
      }
    }
    return out;
  }
}

function identifierFromCondition(reference: string): { system?: string; value: string } | undefined {
  const value = new URLSearchParams(reference.split('?', 2)[1]).get('identifier');
  if (!value) return undefined;
  const bar = value.indexOf('|');
  return bar < 0 ? { value } : { system: value.slice(0, bar) || undefined, value: value.slice(bar + 1) };
}

/** The sources, prepared by the workers a bounded number ahead and taken back in order. */
class PreparedFiles {
  private readonly pending: { result: Promise<ArrayBuffer>; ready: boolean }[] = [];
  private nextSource = 0;

  constructor(
    private readonly pool: WorkerPool,
    private readonly sources: ImportSource[],
  ) {
    this.fill();
  }

  get finished(): boolean {
    return this.pending.length === 0;
  }

  nextIsReady(): boolean {
    return this.pending[0]?.ready ?? false;
  }

  /** The next file in order, as the workers send it (see `decode`). */
  async next(): Promise<ArrayBuffer> {
    const buffer = await this.pending.shift()!.result;
    this.fill();
    return buffer;
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private fill(): void {
    while (this.nextSource < this.sources.length && this.pending.length < FILES_AHEAD) {
      const entry = { result: this.pool.run(this.sources[this.nextSource++]!), ready: false };
      entry.result.then(
        () => (entry.ready = true),
        () => undefined, // the error reaches whoever awaits `result`
      );
      this.pending.push(entry);
    }
  }
}

/**
 * A fixed pool of worker threads. Each task goes to the worker with the fewest outstanding ones; a
 * worker queues its tasks, so it keeps working while the main thread is busy writing.
 */
class WorkerPool {
  private readonly workers: { worker: Worker; outstanding: number }[];
  private readonly tasks = new Map<
    number,
    { resolve: (prepared: ArrayBuffer) => void; reject: (error: Error) => void }
  >();
  private seq = 0;

  constructor(size: number, heapMb: number) {
    this.workers = Array.from({ length: size }, () => {
      // A small young generation too: every MB of every thread counts in the import's memory.
      const worker = new Worker(new URL('./workerBootstrap.js', import.meta.url), {
        resourceLimits: { maxOldGenerationSizeMb: heapMb, maxYoungGenerationSizeMb: 16 },
      });
      const entry = { worker, outstanding: 0 };
      worker.on('message', ({ seq, prepared }: WorkerResult) => {
        entry.outstanding--;
        this.tasks.get(seq)!.resolve(prepared);
        this.tasks.delete(seq);
      });
      // A worker that dies (it cannot load, or runs out of memory) fails the import rather than hanging it.
      worker.on('error', (error) => {
        for (const task of this.tasks.values()) task.reject(error);
        this.tasks.clear();
      });
      return entry;
    });
  }

  /** Prepares a file in a worker: a PreparedFile serialized with `v8.serialize`. */
  run(source: ImportSource): Promise<ArrayBuffer> {
    const entry = this.workers.reduce((a, b) => (b.outstanding < a.outstanding ? b : a));
    entry.outstanding++;
    const task: WorkerTask = { seq: this.seq++, file: source.file, format: source.format };
    return new Promise((resolve, reject) => {
      this.tasks.set(task.seq, { resolve, reject });
      entry.worker.postMessage(task);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map(({ worker }) => worker.terminate()));
  }
}
