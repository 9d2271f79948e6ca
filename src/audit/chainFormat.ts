/**
 * The audit chain's byte format (docs/audit-chain.md, sections 2 to 4): canonical JSON, the link hash
 * and the checkpoint payload. Pure functions importing nothing of ChartVault, so that the store (which
 * appends) and the verifier (which checks) share one definition.
 */
import { hash } from 'node:crypto';

export const AUDIT_FORMAT_VERSION = 1;
export const GENESIS_HASH = Buffer.alloc(32);

/** A value the canonical form can hold: strings, safe integers, booleans, arrays and objects. */
export type CanonicalValue =
  string | number | boolean | CanonicalValue[] | { [name: string]: CanonicalValue };

/**
 * JSON with members sorted by name and no whitespace (RFC 8785 restricted to integers). Members whose
 * value is undefined are left out; null and non-integer numbers are refused.
 */
export function canonicalJson(value: unknown): string {
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError(`audit entries hold integers only, not ${value}`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    // Built as one string (no array per member): audit entries are written on every request.
    let text = '';
    for (const name of Object.keys(value).sort()) {
      const member = (value as Record<string, unknown>)[name];
      if (member === undefined) continue;
      text += `${text === '' ? '' : ','}${JSON.stringify(name)}:${canonicalJson(member)}`;
    }
    return `{${text}}`;
  }
  throw new TypeError(`audit entries cannot hold ${value === null ? 'null' : typeof value}`);
}

/** Reused input buffer of linkHash: one-shot hashing of one buffer is faster than a streaming hash. */
let scratch = Buffer.allocUnsafe(64 * 1024);

/** hash(seq) = SHA-256(hash(seq - 1) | bytes(seq)). */
export function linkHash(previous: Uint8Array, entryText: string): Buffer {
  const needed = 32 + Buffer.byteLength(entryText, 'utf8');
  if (needed > scratch.length) scratch = Buffer.allocUnsafe(needed * 2);
  scratch.set(previous, 0);
  const length = 32 + scratch.write(entryText, 32, 'utf8');
  return hash('sha256', scratch.subarray(0, length), 'buffer');
}

/** The top-level `time` of a canonical entry, found without parsing it (`time` sorts last but for `v`). */
export function entryTimeText(entryText: string): string | undefined {
  const at = entryText.lastIndexOf('"time":"');
  if (at < 0) return undefined;
  const start = at + 8;
  const end = entryText.indexOf('"', start);
  return end < 0 ? undefined : entryText.slice(start, end);
}

/** What a checkpoint signs (section 4). */
export interface CheckpointPayload {
  v: number;
  store: string;
  seq: number;
  hash: string;
  time: string;
  key: string;
}

export interface CheckpointLine extends CheckpointPayload {
  sig: string;
}

export const checkpointPayloadText = (payload: CheckpointPayload) =>
  canonicalJson({
    v: payload.v,
    store: payload.store,
    seq: payload.seq,
    hash: payload.hash,
    time: payload.time,
    key: payload.key,
  });

/** Reads a checkpoint line, or says why it is not one. */
export function parseCheckpointLine(text: string): CheckpointLine | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'is not JSON';
  }
  const line = parsed as Partial<CheckpointLine>;
  if (
    typeof line !== 'object' ||
    line === null ||
    line.v !== AUDIT_FORMAT_VERSION ||
    typeof line.store !== 'string' ||
    !Number.isSafeInteger(line.seq) ||
    typeof line.hash !== 'string' ||
    !/^[0-9a-f]{64}$/.test(line.hash) ||
    typeof line.time !== 'string' ||
    typeof line.key !== 'string' ||
    typeof line.sig !== 'string'
  )
    return 'is not a version 1 checkpoint';
  return line as CheckpointLine;
}
