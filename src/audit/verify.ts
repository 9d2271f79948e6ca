/**
 * `chartvault audit verify` (docs/audit-chain.md, section 6): checks every entry's link hash (see
 * store/sqlite/auditLinkCheck.ts), then checks each checkpoint, inside the database and in the file outside it, against the
 * recomputed hashes and the signing key. Stops at the first problem and names it.
 */
import { verify as verifySignature, type KeyObject } from 'node:crypto';
import type { SqliteStore } from '../store/index.ts';
import { checkpointPayloadText, parseCheckpointLine, type CheckpointLine } from './chainFormat.ts';
import { readCheckpointFile } from './checkpoints.ts';
import { keyIdOf, publicKeyFromRaw, readEarlierAuditKeys } from './signingKey.ts';

export interface VerifyReport {
  ok: boolean;
  entries: number;
  lastCheckpoint?: CheckpointLine;
  /** The first problem found: which entry or checkpoint, and what is wrong. */
  problem?: string;
  /** The seq of the first entry that breaks the chain, when an entry does. */
  brokenSeq?: number;
  /** Entries after the newest checkpoint (protected by the chain alone). */
  uncheckpointed: number;
}

export async function verifyAuditChain(options: {
  store: SqliteStore;
  dataDir: string;
  storeId: string;
  /** The audit signing key's public half; without it only a chain with no checkpoints can pass. */
  publicKey?: KeyObject;
  /** Worker threads checking the entries (default: one per core for a long chain, else none). */
  threads?: number;
}): Promise<VerifyReport> {
  const { store, storeId, publicKey } = options;
  const inside = (await store.auditCheckpoints()).map((row) => ({
    where: `checkpoint #${row.seq} in the database`,
    text: row.line,
    seq: row.seq,
  }));
  const outside = readCheckpointFile(options.dataDir).map((line) => ({
    where: `line ${line.lineNumber} of audit-checkpoints.jsonl`,
    text: line.text,
    seq: undefined as number | undefined,
  }));
  const failed = (problem: string, entries: number, brokenSeq?: number): VerifyReport => ({
    ok: false,
    entries,
    problem,
    brokenSeq,
    uncheckpointed: 0,
  });

  // 1. Signatures first: a checkpoint that does not verify cannot vouch for anything. A restored or
  // rotated store also accepts the keys that signed its chain before, each only for the checkpoints it
  // signed then (docs/audit-chain.md, "After a restore" and "Rotating the signing key").
  const checkpoints: { where: string; line: CheckpointLine; inDatabase: boolean }[] = [];
  const keyId = publicKey ? keyIdOf(publicKey) : '';
  const earlier = new Map(readEarlierAuditKeys(options.dataDir).map((k) => [k.keyId, k]));
  for (const [i, item] of [...inside, ...outside].entries()) {
    const line = parseCheckpointLine(item.text);
    if (typeof line === 'string') return failed(`${item.where} ${line}`, 0);
    if (item.seq !== undefined && item.seq !== line.seq)
      return failed(`${item.where} is stored under #${item.seq} but covers #${line.seq}`, 0);
    const before = earlier.get(line.key);
    const signer =
      publicKey && line.key === keyId
        ? publicKey
        : before && line.seq <= before.until
          ? publicKeyFromRaw(before.publicKey)
          : undefined;
    if (!signer) {
      if (before)
        return failed(
          `${item.where} was signed by an earlier key, the key of before the restore or rotation (${line.key}), which vouches only up to #${before.until}, but covers #${line.seq}`,
          0,
        );
      if (!publicKey)
        return failed(
          'checkpoints exist but the audit signing key is not in the key folder; pass --key-dir with the folder that holds it',
          0,
        );
      return failed(`${item.where} was signed by key ${line.key}, not by this store's key ${keyId}`, 0);
    }
    if (signer !== publicKey && keyIdOf(signer) !== line.key)
      return failed(`the earlier key ${line.key} in audit-earlier-keys.json is not the key of that id`, 0);
    const { sig, ...payload } = line;
    if (
      !verifySignature(null, Buffer.from(checkpointPayloadText(payload)), signer, Buffer.from(sig, 'base64'))
    )
      return failed(`${item.where} has a bad signature: it was altered or not made with this store's key`, 0);
    if (line.store !== storeId)
      return failed(`${item.where} belongs to store ${line.store}, not to this store ${storeId}`, 0);
    checkpoints.push({ where: item.where, line, inDatabase: i < inside.length });
  }

  // 2. The entries: every link checked against the stored hash before it, which from entry 1 on proves
  // that the stored hashes are the recomputed ones (on worker threads for a long chain).
  const links = await store.checkAuditLinks({ threads: options.threads });
  const entries = links.entries;
  if (links.problem) {
    const { kind, seq } = links.problem;
    if (kind === 'out-of-order') return failed(`entry #${seq} is out of order`, 0, 1);
    if (kind === 'missing') {
      const next = links.problem.nextStored;
      return failed(
        `entry #${seq} is missing${next === undefined ? '' : ` (the next stored entry is #${next})`}: an entry was deleted`,
        entries,
        seq,
      );
    }
    if (kind === 'hash')
      return failed(
        `entry #${seq} does not match its hash: it was modified, or an entry before it was inserted, removed or moved`,
        entries,
        seq,
      );
    return failed(`entry #${seq} has a time column that differs from the entry's time`, entries, seq);
  }
  const hashAt = new Map<number, string>();
  for (const { line } of checkpoints)
    if (line.seq >= 1 && line.seq <= entries)
      hashAt.set(line.seq, store.auditHashAt(line.seq)!.toString('hex'));

  // 3. and 4. Every checkpoint must fall on the chain as it is now.
  let newest: CheckpointLine | undefined;
  for (const { where, line } of checkpoints) {
    if (line.seq > entries)
      return failed(
        `the chain ends at #${entries} but ${where} covers #${line.seq}: entries after #${entries} were cut off`,
        entries,
        entries + 1,
      );
    if (hashAt.get(line.seq) !== line.hash)
      return failed(
        `${where} does not match entry #${line.seq}: the chain up to #${line.seq} was rewritten`,
        entries,
        line.seq,
      );
    if (!newest || line.seq > newest.seq) newest = line;
  }
  const newestOutside = checkpoints.filter((c) => !c.inDatabase).at(-1);
  if (newestOutside && !inside.some((c) => c.seq === newestOutside.line.seq))
    return failed(
      `${newestOutside.where} (#${newestOutside.line.seq}) is not in the database: the database was replaced by an older copy`,
      entries,
    );
  // A checkpoint goes to the file before the table, so the table's newest must be in the file.
  const newestInside = checkpoints.filter((c) => c.inDatabase).at(-1);
  if (newestInside && !checkpoints.some((c) => !c.inDatabase && c.line.seq === newestInside.line.seq))
    return failed(
      `${newestInside.where} is missing from audit-checkpoints.jsonl: the file outside the database was cut or replaced`,
      entries,
    );
  return { ok: true, entries, lastCheckpoint: newest, uncheckpointed: entries - (newest?.seq ?? 0) };
}
