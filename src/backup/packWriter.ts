/**
 * Packs: several stored versions in one object. The payload is UTF-8 NDJSON: a header line, then one
 * line per version in vid order, each with the stored JSON text as a string (so the restored bytes are
 * the stored bytes) or null for a delete.
 */
import { createHash } from 'node:crypto';
import type { RawVersion } from '../store/index.ts';
import { CorruptObject } from './repositoryFormat.ts';

/** A pack is closed when its payload reaches this size or this many versions. */
export const PACK_TARGET_BYTES = 4 * 1024 * 1024;
export const PACK_MAX_VERSIONS = 20000;

export interface PackHeader {
  format: 'chartvault-pack';
  version: 1;
  firstVid: number;
  lastVid: number;
  count: number;
}

/** Collects versions into pack payloads of bounded size. */
export class PackBuilder {
  private lines: string[] = [];
  private bytes = 0;
  private first = 0;
  private last = 0;

  get count(): number {
    return this.lines.length;
  }

  get full(): boolean {
    return this.bytes >= PACK_TARGET_BYTES || this.lines.length >= PACK_MAX_VERSIONS;
  }

  add(v: RawVersion): void {
    const line = JSON.stringify({
      vid: v.vid,
      type: v.type,
      id: v.id,
      version: v.version,
      lastUpdated: v.lastUpdated,
      method: v.method,
      body: v.body,
    });
    if (this.lines.length === 0) this.first = v.vid;
    this.last = v.vid;
    this.lines.push(line);
    this.bytes += line.length + 1;
  }

  /** The payload of the versions added so far, and a fresh start. */
  take(): { payload: Buffer; header: PackHeader } {
    const header: PackHeader = {
      format: 'chartvault-pack',
      version: 1,
      firstVid: this.first,
      lastVid: this.last,
      count: this.lines.length,
    };
    const payload = Buffer.from([JSON.stringify(header), ...this.lines].join('\n') + '\n');
    this.lines = [];
    this.bytes = 0;
    return { payload, header };
  }
}

export const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** Reads a pack payload back, checking its header against itself and its versions' order. */
export function parsePack(payload: Buffer, path: string): { header: PackHeader; versions: RawVersion[] } {
  const lines = payload.toString('utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  let header: PackHeader;
  let versions: RawVersion[];
  try {
    header = JSON.parse(lines[0] ?? '') as PackHeader;
    versions = lines.slice(1).map((line) => JSON.parse(line) as RawVersion);
  } catch {
    throw new CorruptObject(path, 'pack content is not valid');
  }
  if (header.format !== 'chartvault-pack' || header.version !== 1)
    throw new CorruptObject(path, 'not a version-1 pack');
  if (
    versions.length !== header.count ||
    versions[0]?.vid !== header.firstVid ||
    versions.at(-1)?.vid !== header.lastVid
  )
    throw new CorruptObject(path, 'pack holds other versions than its header says');
  for (let i = 1; i < versions.length; i++)
    if (!(versions[i]!.vid > versions[i - 1]!.vid))
      throw new CorruptObject(path, 'pack versions out of order');
  return { header, versions };
}

const VID_PREFIX = Buffer.from('{"vid":');

/**
 * What verify checks of a pack whose bytes are already proven to be the writer's (authenticated, and
 * equal to the sha256 its manifest records): its header, and that its lines hold `count` versions
 * from `firstVid` to `lastVid` in rising vid order. Reads each line's vid where the writer put it, at
 * the start of the line, instead of parsing every version (a restore parses them all: parsePack).
 */
export function scanPack(payload: Buffer, path: string): PackHeader {
  const bad = (why: string) => new CorruptObject(path, why);
  const headerEnd = payload.indexOf(10);
  let header: PackHeader;
  try {
    header = JSON.parse(
      payload.subarray(0, headerEnd < 0 ? payload.length : headerEnd).toString(),
    ) as PackHeader;
  } catch {
    throw bad('pack content is not valid');
  }
  if (header.format !== 'chartvault-pack' || header.version !== 1) throw bad('not a version-1 pack');
  let count = 0;
  let previous = 0;
  let first: number | undefined;
  for (let start = headerEnd + 1; start > 0 && start < payload.length;) {
    const end = payload.indexOf(10, start);
    if (end < 0 || !payload.subarray(start, start + VID_PREFIX.length).equals(VID_PREFIX))
      throw bad('pack content is not valid');
    let vid = 0;
    let i = start + VID_PREFIX.length;
    for (; i < end && payload[i]! >= 48 && payload[i]! <= 57; i++) vid = vid * 10 + payload[i]! - 48;
    if (i === start + VID_PREFIX.length || payload[i] !== 44 || payload[end - 1] !== 125)
      throw bad('pack content is not valid');
    if (count > 0 && !(vid > previous)) throw bad('pack versions out of order');
    first ??= vid;
    previous = vid;
    count++;
    start = end + 1;
  }
  if (count !== header.count || first !== header.firstVid || previous !== header.lastVid)
    throw bad('pack holds other versions than its header says');
  return header;
}
