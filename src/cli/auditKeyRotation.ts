/**
 * `chartvault keys rotate-audit`: a new Ed25519 key for the audit chain's checkpoints
 * (docs/audit-chain.md, "Rotating the signing key").
 *
 * The order keeps every checkpoint verifiable at every instant. (1) The store must not be open
 * elsewhere: a running `serve` would go on signing with the old key. (2) A last checkpoint is signed
 * with the old key at the head of the chain, seq N. (3) The old public key is recorded in
 * `audit-earlier-keys.json` as an earlier key valid up to N. (4) The new seed is written to a temporary
 * file, synced and renamed over the key file. (5) The rotation's `key-rotate` entry is appended and a
 * checkpoint covering it signed with the new key. A crash before (4) leaves the old key in use (an
 * earlier-key entry for the current key changes nothing: its own key is always accepted); after (4), the
 * new one, with the old checkpoints still vouched for by the earlier key.
 */
import { join, resolve } from 'node:path';
import {
  AuditKeyError,
  appendEarlierAuditKey,
  commandLineAgent,
  loadAuditSigningKey,
  rawPublicKey,
  replaceAuditSigningKey,
  writeCheckpoint,
  type AuditSigningKey,
} from '../audit/index.ts';
import { openStore, readSettings, StoreError, type AuditEntryDraft } from '../store/index.ts';
import { databasePath } from '../store/dataDirectory.ts';
import { loadDataKey } from '../store/keyStore.ts';
import { openConnection } from '../store/sqlite/connection.ts';
import { auditKeyRotation } from './keysCommand.ts';
import { CliError } from './main.ts';
import { acquireLockFile, takeSoleAccess } from './soleAccess.ts';

export async function rotateAuditKeyCommand(options: { data: string; keyDir: string }): Promise<void> {
  const { storeId } = readSettings(options.data);
  const old = auditKey(() => loadAuditSigningKey(options.keyDir, storeId));
  if (!old)
    throw new CliError(
      `There is no audit signing key for this store in ${resolve(options.keyDir)}; pass --key-dir with the folder that holds it.`,
    );
  let rotated: { key: AuditSigningKey; until: number; checkpointSeq?: number };
  try {
    rotated = await rotate(options, storeId, old);
  } catch (error) {
    // A refusal (the store in use) or a failure is recorded too, when the store can be opened at all;
    // its checkpoint is signed with whichever key the key file holds.
    await auditKeyRotation(
      options,
      rotationEntry('failure', { previous: old.keyId, error: (error as Error).message.slice(0, 300) }),
    ).catch(() => undefined);
    throw error;
  }
  console.log(`The audit chain's checkpoints are now signed with a new key: ${rotated.key.keyId}.`);
  console.log(`Previous key: ${old.keyId}.`);
  const earlierKeys = join(resolve(options.data), 'audit-earlier-keys.json');
  console.log(
    rotated.until > 0
      ? `Checkpoints up to entry #${rotated.until} stay verifiable with the old public key, kept in ${earlierKeys}; ` +
          'later ones must be signed with the new key.'
      : `The chain was empty, so the old key signed no checkpoint; its public key is kept in ${earlierKeys} all the same.`,
  );
  if (rotated.checkpointSeq !== undefined)
    console.log(`Signed checkpoint #${rotated.checkpointSeq} with the new key.`);
}

async function rotate(
  options: { data: string; keyDir: string },
  storeId: string,
  old: AuditSigningKey,
): Promise<{ key: AuditSigningKey; until: number; checkpointSeq?: number }> {
  const release = acquireLockFile(options.keyDir, `${storeId}.audit-rotation.lock`, 'An audit key rotation');
  try {
    refuseWhenInUse(options.data, options.keyDir, storeId);
    const { store } = openStore(options.data, options.keyDir);
    try {
      await writeCheckpoint(store, { dataDir: options.data, storeId, key: old });
      const until = (await store.auditHead()).seq;
      appendEarlierAuditKey(options.data, {
        keyId: old.keyId,
        publicKey: rawPublicKey(old.publicKey).toString('hex'),
        until,
      });
      const key = auditKey(() => replaceAuditSigningKey(options.keyDir, storeId));
      await store.appendAudit(rotationEntry('success', { keyId: key.keyId, previous: old.keyId, until }));
      const line = await writeCheckpoint(store, { dataDir: options.data, storeId, key });
      return { key, until, checkpointSeq: line?.seq };
    } finally {
      await store.close();
    }
  } finally {
    release();
  }
}

/** The audit entry of this rotation (action `key-rotate`), as keysCommand.ts makes those of the others. */
function rotationEntry(
  outcome: 'success' | 'failure',
  detail: Record<string, string | number>,
): AuditEntryDraft {
  return {
    agent: commandLineAgent(),
    action: 'key-rotate',
    resource: { type: 'audit-signing-key' },
    outcome,
    detail,
  };
}

/**
 * The same check as `keys rotate-store`: leaving WAL mode needs every other connection closed, so it
 * fails at once when `serve` (or an import, a backup) has the store open. WAL is put back at once.
 */
function refuseWhenInUse(dataDir: string, keyDir: string, storeId: string): void {
  let db;
  try {
    db = openConnection(databasePath(dataDir), loadDataKey(keyDir, storeId).key, { create: false });
  } catch (error) {
    if (error instanceof StoreError) throw new CliError(error.message);
    throw error;
  }
  try {
    takeSoleAccess(db, dataDir);
    db.pragma('journal_mode = WAL');
  } finally {
    db.close();
  }
}

function auditKey<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof AuditKeyError) throw new CliError(error.message);
    throw error;
  }
}
