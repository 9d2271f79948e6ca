/**
 * Restore: a new store holding exactly the versions of one snapshot (its whole chain replayed), made
 * from a target and the recovery kit alone. Everything is checked before the store counts as made:
 * each object authentic, each pack its manifest's, the chained content hash and the live counts per
 * type equal to the snapshot's. Any failure removes the new data directory and the keys it wrote:
 * never a partial restore.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  backupKeyFilePath,
  createBackupKey,
  createRestoredStore,
  loadBackupKey,
  type RawVersion,
} from '../store/index.ts';
import { BackupError } from './backupError.ts';
import { deriveBackupKeys } from './backupKeys.ts';
import type { RecoveryKit } from './kitFile.ts';
import { parsePack, sha256 } from './packWriter.ts';
import { openRepository } from './repository.ts';
import { CorruptObject, objectPath, openObject } from './repositoryFormat.ts';
import {
  chainTo,
  findSnapshot,
  loadSnapshots,
  newest,
  short,
  type ListedSnapshot,
} from './snapshotManifest.ts';
import type { BackupTarget } from './target.ts';

export interface RestoreInput {
  target: BackupTarget;
  kit: RecoveryKit;
  dataDir: string;
  keyDir: string;
  /** A snapshot id (or a prefix of 8+ characters); the newest when absent. */
  snapshot?: string;
}

export interface RestoreResult {
  snapshot: ListedSnapshot;
  versions: number;
  resources: number;
  keyFile: string;
  seconds: number;
}

export async function restoreSnapshot(input: RestoreInput): Promise<RestoreResult> {
  const started = performance.now();
  const { target, kit } = input;
  const keys = deriveBackupKeys(kit.backupKey);
  await openRepository(target, keys, kit.storeId);
  const { snapshots } = await loadSnapshots(target, keys);
  const tip = input.snapshot ? findSnapshot(snapshots, input.snapshot) : newest(snapshots);
  if (!tip) throw new BackupError(`${target.description} holds no snapshot yet.`);
  const chain = chainTo(snapshots, tip);
  for (const s of chain)
    for (const pack of s.manifest.packs) {
      const path = objectPath('pack', pack.name);
      if ((await target.size(path)) === undefined)
        throw new BackupError(
          `Snapshot ${short(tip.name)} cannot be restored: ${target.description}/${path} is missing.`,
        );
    }

  const dataDir = resolve(input.dataDir);
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0)
    throw new BackupError(`${dataDir} exists and is not empty; restore makes a new data directory.`);
  const made: string[] = [];
  const dataDirExisted = existsSync(dataDir);
  let opened: ReturnType<typeof createRestoredStore> | undefined;
  try {
    opened = createRestoredStore(dataDir, input.keyDir, tip.manifest.settings);
    made.push(opened.keyFile);
    if (opened.settings.storeId !== kit.storeId)
      throw new BackupError('The snapshot settings name another store.');
    // The backup key goes beside the new data key (backups go on into the same targets); one already
    // there is kept when it is the kit's.
    if (!existsSync(backupKeyFilePath(input.keyDir, kit.storeId)))
      made.push(createBackupKey(input.keyDir, kit.storeId, kit.backupKey).file);
    else if (!loadBackupKey(input.keyDir, kit.storeId).key.equals(kit.backupKey))
      throw new BackupError(
        `${input.keyDir} already holds another backup key for this store; use a new key folder.`,
      );
    const store = opened.store;
    let versions = 0;
    await store.replayVersions(async (append) => {
      let hash: Buffer = Buffer.alloc(32);
      for (const s of chain) {
        const digests: Buffer[] = [hash];
        for (const pack of s.manifest.packs) {
          const path = objectPath('pack', pack.name);
          const bytes = await target.get(path);
          if (!bytes) throw new BackupError(`${target.description}/${path} is missing.`);
          const payload = openObject(keys, 'pack', `${target.description}/${path}`, pack.name, bytes);
          const digest = sha256(payload);
          if (digest !== pack.sha256) throw new CorruptObject(path, 'is not the pack its manifest names');
          const { header, versions: rows } = parsePack(payload, path);
          if (
            header.firstVid !== pack.firstVid ||
            header.lastVid !== pack.lastVid ||
            header.count !== pack.count
          )
            throw new CorruptObject(path, 'holds other versions than its manifest says');
          append(rows as RawVersion[]);
          versions += rows.length;
          digests.push(Buffer.from(digest, 'hex'));
        }
        hash = Buffer.from(sha256(Buffer.concat(digests)), 'hex');
        if (hash.toString('hex') !== s.manifest.contentHash)
          throw new BackupError(
            `Snapshot ${short(s.name)}: the restored content does not match its content hash.`,
          );
      }
    });
    const counts = await store.countByType();
    const expected = tip.manifest.resources;
    const types = new Set([...Object.keys(counts), ...Object.keys(expected)]);
    for (const type of types)
      if ((counts[type] ?? 0) !== (expected[type] ?? 0))
        throw new BackupError(
          `After restore there are ${counts[type] ?? 0} ${type} resources; the snapshot has ${expected[type] ?? 0}.`,
        );
    await store.optimize();
    await store.close();
    const resources = Object.values(counts).reduce((a, b) => a + b, 0);
    return {
      snapshot: tip,
      versions,
      resources,
      keyFile: opened.keyFile,
      seconds: (performance.now() - started) / 1000,
    };
  } catch (error) {
    await opened?.store.close().catch(() => undefined);
    if (dataDirExisted)
      for (const entry of readdirSync(dataDir))
        rmSync(resolve(dataDir, entry), { recursive: true, force: true });
    else rmSync(dataDir, { recursive: true, force: true });
    for (const file of made) rmSync(file, { force: true });
    throw error;
  }
}
