/**
 * Checking the audit checkpoints a snapshot carries (docs/backup-format.md, section 7): each line is a
 * checkpoint of this store, within the snapshot's range, and, when the snapshot chain holds the public
 * key it names, signed by that key. Whether it matches the chain's hash at its seq needs the entries:
 * restore and `verify --read-data` check that as they recompute the chain.
 */
import { verify } from 'node:crypto';
import { checkpointPayloadText, parseCheckpointLine, type CheckpointLine } from '../audit/chainFormat.ts';
import { keyIdOf, publicKeyFromRaw } from '../audit/signingKey.ts';
import type { ListedSnapshot } from './snapshotManifest.ts';

/** The public keys (raw, hex, by key id) that the manifests of a chain carry. */
export function keysOfChain(chain: ListedSnapshot[]): Map<string, string> {
  const keys = new Map<string, string>();
  for (const s of chain) for (const [id, key] of Object.entries(s.manifest.audit.keys)) keys.set(id, key);
  return keys;
}

/** The checkpoint, or a problem in words. `signed` is false when the chain holds no key to check it. */
export function checkCheckpoint(
  text: string,
  keys: Map<string, string>,
  storeId: string,
  throughSeq: number,
): { line: CheckpointLine; signed: boolean } | string {
  const line = parseCheckpointLine(text);
  if (typeof line === 'string') return `an audit checkpoint ${line}`;
  const where = `audit checkpoint #${line.seq}`;
  if (line.store !== storeId) return `${where} belongs to another store (${line.store})`;
  if (line.seq < 1 || line.seq > throughSeq) return `${where} lies outside the audit entries it is kept with`;
  const raw = keys.get(line.key);
  if (raw === undefined) return { line, signed: false };
  const publicKey = publicKeyFromRaw(raw);
  if (!publicKey || keyIdOf(publicKey) !== line.key)
    return `${where}: the public key kept for ${line.key} is not that key`;
  const { sig, ...payload } = line;
  if (!verify(null, Buffer.from(checkpointPayloadText(payload)), publicKey, Buffer.from(sig, 'base64')))
    return `${where} has a bad signature`;
  return { line, signed: true };
}
