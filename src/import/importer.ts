/**
 * The import pipeline: worker threads prepare files in parallel (parse, validate, index); the main thread
 * writes each unit in one store transaction, in file order, so a transaction Bundle is never half-imported
 * and shared data lands before what refers to it.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Resource } from '../fhir/types.ts';
import { findByCondition, type BatchWrite, type ResourceStore } from '../store/index.ts';
import type { ImportUnit, PreparedFile, Rejection } from './prepareUnits.ts';
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
  workers?: number;
  onProgress?: (progress: ImportProgress) => void;
}

/** Units are grouped into store transactions of about this many writes (NDJSON lines, batch entries). */
const WRITES_PER_TRANSACTION = 2000;

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
  const pool = new WorkerPool(options.workers ?? Math.max(1, Math.min(availableParallelism(), 4)));
  const resolver = new ConditionalReferenceResolver(store);
  let resources = 0;
  try {
    // Prepare ahead by a bounded window (memory stays flat), write strictly in order.
    const window = pool.size * 2;
    const pending: Promise<PreparedFile>[] = [];
    let next = 0;
    const fill = () => {
      while (next < sources.length && pending.length < window) pending.push(pool.run(sources[next++]!));
    };
    fill();
    for (let done = 0; done < sources.length; done++) {
      const prepared = await pending.shift()!;
      fill();
      report.rejected.push(...prepared.rejected);
      resources += await writeUnits(store, prepared.units, resolver, report);
      options.onProgress?.({ filesDone: done + 1, filesTotal: sources.length, resources });
    }
  } finally {
    await pool.close();
  }
  report.unresolvedReferences = resolver.unresolved;
  report.seconds = (performance.now() - started) / 1000;
  return report;
}

async function writeUnits(
  store: ResourceStore,
  units: ImportUnit[],
  resolver: ConditionalReferenceResolver,
  report: ImportReport,
): Promise<number> {
  let written = 0;
  let group: ImportUnit[] = [];
  const flush = async () => {
    if (group.length === 0) return;
    written += await writeGroup(store, group, report);
    group = [];
  };
  for (const unit of units) {
    if (unit.conditionalReferences.length > 0) await resolver.resolve(unit);
    if (unit.writes.length >= WRITES_PER_TRANSACTION) {
      await flush();
      group = [unit];
      await flush();
      continue;
    }
    if (group.reduce((n, u) => n + u.writes.length, 0) + unit.writes.length > WRITES_PER_TRANSACTION)
      await flush();
    group.push(unit);
  }
  await flush();
  return written;
}

/** Writes a group of units in one transaction; when that fails, unit by unit, to isolate the bad one. */
async function writeGroup(store: ResourceStore, group: ImportUnit[], report: ImportReport): Promise<number> {
  const toBatch = (unit: ImportUnit): BatchWrite[] =>
    unit.writes.map((w) =>
      w.kind === 'delete'
        ? { kind: 'delete', resourceType: w.resourceType, id: w.id }
        : { kind: 'put', resource: w.resource!, index: w.index, keepExisting: w.keepExisting },
    );
  try {
    const outcomes = await store.writeBatch(group.flatMap(toBatch));
    tally(report, group, outcomes);
    return outcomes.length;
  } catch (error) {
    if (group.length === 1) {
      report.rejected.push({ source: group[0]!.source, reason: (error as Error).message });
      return 0;
    }
    let written = 0;
    for (const unit of group) written += await writeGroup(store, [unit], report);
    return written;
  }
}

function tally(report: ImportReport, group: ImportUnit[], outcomes: string[]): void {
  let i = 0;
  for (const unit of group) {
    for (const write of unit.writes) {
      const counts = (report.byType[write.resourceType] ??= {
        created: 0,
        updated: 0,
        unchanged: 0,
        deleted: 0,
      });
      counts[outcomes[i++] as keyof typeof counts]++;
    }
  }
}

/** Looks up `Practitioner?identifier=...` references once each; unresolved ones become logical references. */
class ConditionalReferenceResolver {
  private readonly cache = new Map<string, string | undefined>();
  unresolved = 0;

  constructor(private readonly store: ResourceStore) {}

  async resolve(unit: ImportUnit): Promise<void> {
    for (const reference of unit.conditionalReferences) {
      if (this.cache.has(reference)) continue;
      const [type, query] = reference.split('?', 2) as [string, string];
      let target: string | undefined;
      try {
        const matches = await findByCondition(this.store, type, query, 2);
        target = matches.length === 1 ? `${type}/${matches[0]!.id}` : undefined;
      } catch {
        target = undefined;
      }
      this.cache.set(reference, target);
    }
    for (const write of unit.writes) {
      if (write.resource) write.resource = this.rewrite(write.resource) as Resource;
      write.index = undefined; // the store extracts it from the rewritten resource
    }
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

/** A fixed pool of worker threads, each preparing one file at a time. */
class WorkerPool {
  private readonly workers: Worker[];
  private readonly idle: Worker[];
  private readonly waiting: (() => void)[] = [];
  private readonly callbacks = new Map<number, (prepared: PreparedFile) => void>();
  private seq = 0;

  constructor(readonly size: number) {
    this.workers = Array.from({ length: size }, () => {
      const worker = new Worker(new URL('./workerBootstrap.js', import.meta.url));
      worker.on('message', ({ seq, prepared }: { seq: number; prepared: PreparedFile }) => {
        this.callbacks.get(seq)!(prepared);
        this.callbacks.delete(seq);
        this.release(worker);
      });
      return worker;
    });
    this.idle = [...this.workers];
  }

  async run(source: ImportSource): Promise<PreparedFile> {
    const worker = await this.acquire();
    const seq = this.seq++;
    return new Promise((resolve) => {
      this.callbacks.set(seq, resolve);
      worker.postMessage({ seq, file: source.file, format: source.format });
    });
  }

  private async acquire(): Promise<Worker> {
    while (this.idle.length === 0) await new Promise<void>((resolve) => this.waiting.push(resolve));
    return this.idle.pop()!;
  }

  private release(worker: Worker): void {
    this.idle.push(worker);
    this.waiting.shift()?.();
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
