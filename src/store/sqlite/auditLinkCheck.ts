/**
 * Step 2 of `audit verify` (docs/audit-chain.md, section 6): every entry's link checked against the
 * stored hash before it, SHA-256(stored hash(seq - 1) | entry(seq)) = stored hash(seq). Checked from the
 * first entry on, this proves the same as recomputing the chain from the start (the stored hashes are
 * then the recomputed ones), but each range of entries can be checked on its own, so the chain is
 * split between worker threads, each with its own read connection. Reports the first entry that
 * breaks the chain, exactly as a walk from the start would.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { hash } from 'node:crypto';
import { entryTimeText, GENESIS_HASH, linkHash } from '../../audit/chainFormat.ts';
import type { Connection } from './connection.ts';

/** The first thing wrong with the entries, in seq order. */
export type LinkProblem =
  /** Entry `seq` is absent; `nextStored` is the next entry that is there (when there is one). */
  | { kind: 'missing'; seq: number; nextStored?: number }
  /** The first stored entry has a seq below 1. */
  | { kind: 'out-of-order'; seq: number }
  /** Entry `seq` does not hash, with the stored hash before it, to its stored hash. */
  | { kind: 'hash'; seq: number }
  /** Entry `seq`'s time column differs from the time in its text. */
  | { kind: 'time'; seq: number };

export interface LinkReport {
  /** The number of entries (the last seq) when the chain holds; up to the break otherwise. */
  entries: number;
  problem?: LinkProblem;
}

/** A range of entries read and checked at a time: about half a megabyte of entry text. */
const CHUNK = 2000;
/** An entry's time as the writer writes it; anything else is left to the row-by-row path. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** Below this many entries per thread, one thread is faster than starting workers. */
const MIN_ENTRIES_PER_THREAD = 50_000;

/** Checks the links of ranges of entries on one connection. */
export class LinkChecker {
  private readonly statements;
  private readonly scratch = { buffer: Buffer.allocUnsafe(64 * 1024), views: new Map<number, Buffer>() };

  constructor(db: Connection) {
    this.statements = {
      bounds: db
        .prepare<[], [number | null, number | null]>('SELECT min(seq), max(seq) FROM audit_entry')
        .raw(),
      hashAt: db.prepare<[number], unknown>('SELECT hash FROM audit_entry WHERE seq = ?').pluck(),
      nextStored: db
        .prepare<[number], number | null>('SELECT min(seq) FROM audit_entry WHERE seq > ?')
        .pluck(),
      // One row per chunk, concatenated by SQLite: a row per entry costs more in JavaScript than the
      // decryption and hashing together. The seq list proves each value's position.
      chunk: db
        .prepare<[number, number], ChunkRow>(
          `SELECT count(*), group_concat(seq), group_concat(time), group_concat(length(CAST(entry AS BLOB))),
             CAST(group_concat(entry, '') AS BLOB), lower(group_concat(hex(hash), '')),
             unhex(group_concat(hex(hash), ''))
           FROM audit_entry WHERE seq > ? AND seq <= ?`,
        )
        .raw(),
      rows: db
        .prepare<[number, number], [number, unknown, unknown, unknown]>(
          'SELECT seq, time, entry, hash FROM audit_entry WHERE seq > ? AND seq <= ? ORDER BY seq',
        )
        .raw(),
    };
  }

  /** The lowest and highest seq stored, or undefined for an empty chain. */
  bounds(): { first: number; last: number } | undefined {
    const [first, last] = this.statements.bounds.get()!;
    return first === null || last === null ? undefined : { first, last };
  }

  /** The first problem among the entries afterSeq < seq <= throughSeq, or undefined when they hold. */
  check(afterSeq: number, throughSeq: number): LinkProblem | undefined {
    const before = afterSeq === 0 ? GENESIS_HASH : this.statements.hashAt.get(afterSeq);
    // A missing or damaged entry before the range is reported by the range that holds it.
    if (!(before instanceof Uint8Array)) return { kind: 'hash', seq: afterSeq + 1 };
    let previous: Uint8Array = before;
    for (let from = afterSeq; from < throughSeq; from += CHUNK) {
      const to = Math.min(from + CHUNK, throughSeq);
      const last = this.checkChunkQuickly(from, to, previous);
      if (last === undefined) return this.checkRows(from, to, Buffer.from(previous));
      previous = last;
    }
    return undefined;
  }

  /**
   * The fast path: the chunk's entries as one row. Returns the last entry's hash in hex when every
   * entry holds, or undefined when anything is unusual, for checkRows to find and name it.
   */
  private checkChunkQuickly(from: number, to: number, previous: Uint8Array): Buffer | undefined {
    const [count, seqs, times, lengths, entries, hashesHex, hashes] = this.statements.chunk.get(from, to)!;
    if (
      count !== to - from ||
      !(entries instanceof Uint8Array) ||
      hashesHex?.length !== 64 * count ||
      hashes?.length !== 32 * count
    )
      return undefined;
    const seqList = seqs!.split(',');
    const timeList = times!.split(',');
    const lengthList = lengths!.split(',');
    const { buffer } = this.scratch;
    buffer.set(previous, 0);
    let at = 0;
    for (let i = 0; i < count; i++) {
      const length = Number(lengthList[i]);
      if (Number(seqList[i]) !== from + 1 + i || !(length >= 40 && 32 + length <= buffer.length))
        return undefined;
      const end = at + length;
      entries.copy(buffer, 32, at, end);
      // The hash as hex, compared in place with the stored hex: cheaper than a Buffer per entry.
      if (!hashesHex.startsWith(hash('sha256', this.view(32 + length), 'hex'), i * 64)) return undefined;
      // The time of a canonical entry ends it: `"time":"...","v":1}` (members sorted by name).
      const time = entries.toString('latin1', end - 32, end - 8);
      if (
        entries.toString('latin1', end - 40, end - 32) !== '"time":"' ||
        entries.toString('latin1', end - 8, end) !== '","v":1}' ||
        !ISO_TIME.test(time) ||
        Date.parse(time) !== Number(timeList[i])
      )
        return undefined;
      hashes.copy(buffer, 0, i * 32, i * 32 + 32);
      at = end;
    }
    return at === entries.length ? hashes.subarray(-32) : undefined;
  }

  /** The scratch buffer's first `length` bytes, one view per length (hashing takes no offsets). */
  private view(length: number): Buffer {
    let view = this.scratch.views.get(length);
    if (!view) this.scratch.views.set(length, (view = this.scratch.buffer.subarray(0, length)));
    return view;
  }

  /** The reference path: row by row, naming the first problem. */
  private checkRows(from: number, to: number, previous: Buffer): LinkProblem | undefined {
    let expected = from + 1;
    for (const [seq, time, entry, stored] of this.statements.rows.iterate(from, to)) {
      if (seq !== expected) return { kind: 'missing', seq: expected, nextStored: seq };
      if (
        typeof entry !== 'string' ||
        !(stored instanceof Uint8Array) ||
        !linkHash(previous, entry).equals(stored)
      )
        return { kind: 'hash', seq };
      const entryTime = entryTimeText(entry);
      if (entryTime === undefined || Date.parse(entryTime) !== time) return { kind: 'time', seq };
      previous = Buffer.from(stored);
      expected++;
    }
    if (expected <= to)
      return { kind: 'missing', seq: expected, nextStored: this.statements.nextStored.get(to) ?? undefined };
    // The quick path refused something the rows accept (an entry not in canonical form): it holds.
    return undefined;
  }
}

type ChunkRow = [
  number,
  string | null,
  string | null,
  string | null,
  Buffer | null,
  string | null,
  Buffer | null,
];

/** What a worker thread needs to check a range on its own connection. */
export interface LinkTask {
  file: string;
  key: Buffer;
  afterSeq: number;
  throughSeq: number;
}

/**
 * Checks the whole chain on `reader`, or split over worker threads, each opening the database itself:
 * `threads` of them when given, else one per core when the chain is long enough to gain from them.
 * The lowest problem found wins.
 */
export async function checkAuditLinks(
  reader: Connection,
  database: { file: string; key: Buffer },
  options: { threads?: number } = {},
): Promise<LinkReport> {
  const checker = new LinkChecker(reader);
  const bounds = checker.bounds();
  if (!bounds) return { entries: 0 };
  if (bounds.first < 1) return { entries: 0, problem: { kind: 'out-of-order', seq: bounds.first } };
  const threads = Math.max(
    1,
    Math.min(
      bounds.last,
      options.threads ?? Math.min(availableParallelism(), Math.floor(bounds.last / MIN_ENTRIES_PER_THREAD)),
    ),
  );
  let problems: (LinkProblem | undefined)[];
  if (threads === 1) problems = [checker.check(0, bounds.last)];
  else {
    const size = Math.ceil(bounds.last / threads);
    const tasks: LinkTask[] = [];
    for (let afterSeq = 0; afterSeq < bounds.last; afterSeq += size)
      tasks.push({ ...database, afterSeq, throughSeq: Math.min(afterSeq + size, bounds.last) });
    problems = await Promise.all(tasks.map(runWorker));
  }
  const problem = problems.find((p) => p !== undefined);
  return problem ? { entries: problem.seq - 1, problem } : { entries: bounds.last };
}

/** Runs one range on a worker thread; settles when the thread has ended (its connection closed). */
function runWorker(task: LinkTask): Promise<LinkProblem | undefined> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./auditLinkWorker.js', import.meta.url), { workerData: task });
    let result: { problem?: LinkProblem; error?: string } | undefined;
    let failure: Error | undefined;
    worker.once('message', (message: { problem?: LinkProblem; error?: string }) => (result = message));
    worker.once('error', (error) => (failure = error));
    worker.once('exit', (code) => {
      if (failure) reject(failure);
      else if (result?.error !== undefined) reject(new Error(result.error));
      else if (result) resolve(result.problem);
      else reject(new Error(`an audit verify thread stopped without an answer (exit code ${code})`));
    });
  });
}
