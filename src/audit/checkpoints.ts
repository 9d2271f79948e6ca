/**
 * Signed checkpoints (docs/audit-chain.md, section 4): the newest (seq, hash) of the chain, signed with
 * the audit key, kept in the store and appended to a file outside the database.
 */
import { sign } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { AuditLogStore } from '../store/index.ts';
import {
  AUDIT_FORMAT_VERSION,
  canonicalJson,
  checkpointPayloadText,
  type CheckpointLine,
  type CheckpointPayload,
} from './chainFormat.ts';
import type { AuditSigningKey } from './signingKey.ts';

export const CHECKPOINT_FILE = 'audit-checkpoints.jsonl';

export const checkpointFilePath = (dataDir: string) => join(resolve(dataDir), CHECKPOINT_FILE);

/** Signs the chain's head, unless the newest checkpoint already covers it. Returns the line written. */
export async function writeCheckpoint(
  store: AuditLogStore,
  options: { dataDir: string; storeId: string; key: AuditSigningKey; now?: Date },
): Promise<CheckpointLine | undefined> {
  const head = await store.auditHead();
  if (head.seq === 0) return undefined;
  const checkpoints = await store.auditCheckpoints();
  if (checkpoints.length > 0 && checkpoints[checkpoints.length - 1]!.seq >= head.seq) return undefined;
  const payload: CheckpointPayload = {
    v: AUDIT_FORMAT_VERSION,
    store: options.storeId,
    seq: head.seq,
    hash: head.hash.toString('hex'),
    time: (options.now ?? new Date()).toISOString(),
    key: options.key.keyId,
  };
  const sig = sign(null, Buffer.from(checkpointPayloadText(payload)), options.key.privateKey).toString(
    'base64',
  );
  const line: CheckpointLine = { ...payload, sig };
  const text = canonicalJson(line);
  appendLineDurably(checkpointFilePath(options.dataDir), text);
  await store.addAuditCheckpoint(head.seq, text);
  return line;
}

/** One line appended with O_APPEND and fsynced before returning. */
export function appendLineDurably(file: string, text: string): void {
  const fd = openSync(file, 'a', 0o600);
  try {
    writeSync(fd, text + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The lines of the checkpoint file outside the database, numbered from 1 (none when it is absent). */
export function readCheckpointFile(dataDir: string): { lineNumber: number; text: string }[] {
  const file = checkpointFilePath(dataDir);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((text, i) => ({ lineNumber: i + 1, text }))
    .filter((line) => line.text.trim() !== '');
}
