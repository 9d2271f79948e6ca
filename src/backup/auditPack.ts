/**
 * Audit packs (docs/backup-format.md, section 6.2): consecutive entries of the audit chain in one
 * object. The payload is UTF-8 text: a header line, then each entry's canonical JSON exactly as the
 * chain holds it (the hashed bytes; canonical JSON has no line breaks), one per line, in seq order.
 * Hashes are not stored per entry: a reader recomputes them from the header's `previousHash`, and the
 * manifest's `lastHash` proves the result.
 */
import { GENESIS_HASH, linkHash } from '../audit/chainFormat.ts';
import { PACK_MAX_VERSIONS, PACK_TARGET_BYTES } from './packWriter.ts';
import { CorruptObject } from './repositoryFormat.ts';
import type { AuditPackEntry } from './snapshotManifest.ts';

export interface AuditPackHeader {
  format: 'chartvault-audit-pack';
  version: 1;
  firstSeq: number;
  lastSeq: number;
  count: number;
  /** hash(firstSeq - 1), hex: the link this pack continues. */
  previousHash: string;
}

/** Collects entries into pack payloads of bounded size, computing the chain as it goes. */
export class AuditPackBuilder {
  private lines: string[] = [];
  private bytes = 0;
  private first = 0;
  private previous: Buffer;
  private startHash: Buffer;

  /** `previousHash`: the hash of the entry before the first one added (the parent snapshot's last). */
  constructor(previousHash: Buffer = GENESIS_HASH) {
    this.previous = previousHash;
    this.startHash = previousHash;
  }

  get count(): number {
    return this.lines.length;
  }

  get full(): boolean {
    return this.bytes >= PACK_TARGET_BYTES || this.lines.length >= PACK_MAX_VERSIONS;
  }

  /** The hash of the last entry added (or the starting hash). */
  get lastHash(): Buffer {
    return this.previous;
  }

  add(seq: number, entry: string): void {
    if (this.lines.length === 0) this.first = seq;
    else if (seq !== this.first + this.lines.length)
      throw new Error(`audit entry #${seq} does not follow #${this.first + this.lines.length - 1}`);
    this.previous = linkHash(this.previous, entry);
    this.lines.push(entry);
    this.bytes += Buffer.byteLength(entry) + 1;
  }

  take(): { payload: Buffer; header: AuditPackHeader; lastHash: string } {
    const header: AuditPackHeader = {
      format: 'chartvault-audit-pack',
      version: 1,
      firstSeq: this.first,
      lastSeq: this.first + this.lines.length - 1,
      count: this.lines.length,
      previousHash: this.startHash.toString('hex'),
    };
    const payload = Buffer.from([JSON.stringify(header), ...this.lines].join('\n') + '\n');
    this.lines = [];
    this.bytes = 0;
    this.startHash = this.previous;
    return { payload, header, lastHash: this.previous.toString('hex') };
  }
}

/**
 * Reads an audit pack back: the header against its lines, and the chain recomputed from the header's
 * previousHash. Returns the entries with their seq and hash.
 */
export function parseAuditPack(
  payload: Buffer,
  path: string,
): { header: AuditPackHeader; entries: { seq: number; entry: string; hash: Buffer }[]; lastHash: string } {
  const lines = payload.toString('utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  let header: AuditPackHeader;
  try {
    header = JSON.parse(lines[0] ?? '') as AuditPackHeader;
  } catch {
    throw new CorruptObject(path, 'audit pack content is not valid');
  }
  if (header.format !== 'chartvault-audit-pack' || header.version !== 1)
    throw new CorruptObject(path, 'not a version-1 audit pack');
  const texts = lines.slice(1);
  if (
    texts.length !== header.count ||
    header.count < 1 ||
    header.lastSeq !== header.firstSeq + header.count - 1 ||
    !/^[0-9a-f]{64}$/.test(header.previousHash)
  )
    throw new CorruptObject(path, 'audit pack holds other entries than its header says');
  let previous: Buffer = Buffer.from(header.previousHash, 'hex');
  const entries = texts.map((entry, i) => {
    previous = linkHash(previous, entry);
    return { seq: header.firstSeq + i, entry, hash: previous };
  });
  return { header, entries, lastHash: previous.toString('hex') };
}

/** Whether a parsed pack holds exactly the entries its manifest entry names, chaining to its lastHash. */
export function auditPackMatchesManifest(
  { header, lastHash }: { header: AuditPackHeader; lastHash: string },
  pack: AuditPackEntry,
): boolean {
  return (
    header.firstSeq === pack.firstSeq &&
    header.lastSeq === pack.lastSeq &&
    header.count === pack.count &&
    header.previousHash === pack.previousHash &&
    lastHash === pack.lastHash
  );
}
