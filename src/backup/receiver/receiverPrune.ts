/**
 * Retention on the receiver, run only on the receiver's own machine (`chartvault receiver prune`),
 * never over the network. Ages come from the receiver's clock (when each object arrived), never from
 * the times a client writes into its snapshots, so back-dated snapshots cannot steer it.
 *
 * What is safe to remove depends on what snapshots reference, and manifests are sealed with the
 * practice's backup key, which the receiver does not hold:
 * - without the key, the receiver must assume a snapshot needs everything that arrived before it; in
 *   format version 1 every snapshot is an increment of its parent anyway, so nothing is removed;
 * - with the recovery kit (`--kit`), it reads the manifests: snapshots older than the retention that no
 *   kept snapshot's chain passes through go, with the packs only they reference, and so do old packs
 *   that no manifest references (left by interrupted runs). In version 1 one chain holds every
 *   snapshot of a target, so in practice only such stray packs go until a format with full manifests.
 */
import { appendFileSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { BackupError } from '../backupError.ts';
import { deriveBackupKeys } from '../backupKeys.ts';
import { DirectoryTarget } from '../directoryTarget.ts';
import type { RecoveryKit } from '../kitFile.ts';
import { openRepository } from '../repository.ts';
import { nameOfPath, objectPath } from '../repositoryFormat.ts';
import { chainTo, loadSnapshots, newest } from '../snapshotManifest.ts';
import { PracticeObjects, type ObjectInfo } from './practiceObjects.ts';
import { ReceiverHome } from './receiverHome.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface PruneInput {
  dataDir: string;
  practice: string;
  keepDays: number;
  kit?: RecoveryKit;
  dryRun?: boolean;
  now?: Date;
}

export interface PruneResult {
  cutoff: Date;
  objects: number;
  olderThanCutoff: number;
  removed: string[];
  bytesRemoved: number;
  explanation: string;
}

export async function pruneReceiver(input: PruneInput): Promise<PruneResult> {
  const home = new ReceiverHome(input.dataDir);
  home.requireExisting();
  home.practice(input.practice);
  const minimum = home.settings().minimumRetentionDays;
  if (!Number.isFinite(input.keepDays) || input.keepDays < minimum)
    throw new BackupError(
      `receiver prune refuses to keep less than ${minimum} days (the receiver's minimum retention); give --keep-days ${minimum} or more.`,
    );
  const now = input.now ?? new Date();
  const cutoff = new Date(now.getTime() - input.keepDays * DAY_MS);
  const folder = home.objectsFolder(input.practice);
  const objects = await new PracticeObjects(folder).all();
  const old = objects.filter((o) => o.storedAt < cutoff && o.path !== 'config');
  const base = { cutoff, objects: objects.length, olderThanCutoff: old.length };
  if (old.length === 0)
    return {
      ...base,
      removed: [],
      bytesRemoved: 0,
      explanation: `nothing arrived before ${cutoff.toISOString()}.`,
    };
  if (!input.kit)
    return {
      ...base,
      removed: [],
      bytesRemoved: 0,
      explanation:
        `${old.length} objects arrived before ${cutoff.toISOString()}, but without the backup key the receiver cannot read ` +
        'which objects a snapshot references, and in format version 1 every snapshot depends on all earlier ones ' +
        '(each is an increment of its parent). Nothing was removed. With --kit it removes what no kept snapshot needs.',
    };
  const removable = await removableWithKit(folder, objects, input.kit, cutoff);
  const removed: string[] = [];
  let bytesRemoved = 0;
  // Manifests first: a snapshot is never listed without its packs, even if pruning stops half-way.
  removable.sort((a, b) => Number(b.path.startsWith('snapshots/')) - Number(a.path.startsWith('snapshots/')));
  for (const object of removable) {
    if (!input.dryRun) {
      await unlink(join(folder, object.path));
      appendFileSync(
        home.pruneLog,
        JSON.stringify({
          at: new Date().toISOString(),
          practice: input.practice,
          object: object.path,
          size: object.size,
          arrivedAt: object.storedAt.toISOString(),
          keepDays: input.keepDays,
        }) + '\n',
        { mode: 0o600 },
      );
    }
    removed.push(object.path);
    bytesRemoved += object.size;
  }
  return {
    ...base,
    removed,
    bytesRemoved,
    explanation:
      removed.length === old.length
        ? 'every object older than the retention was no longer needed.'
        : `${old.length - removed.length} objects older than the retention are kept because snapshots kept by it depend on them (in format version 1, the newest snapshot depends on every earlier one).`,
  };
}

async function removableWithKit(
  folder: string,
  objects: ObjectInfo[],
  kit: RecoveryKit,
  cutoff: Date,
): Promise<ObjectInfo[]> {
  const keys = deriveBackupKeys(kit.backupKey);
  const target = new DirectoryTarget(folder);
  await openRepository(target, keys, kit.storeId);
  const { snapshots, broken } = await loadSnapshots(target, keys);
  if (broken.length > 0)
    throw new BackupError(
      `${broken.length} snapshot manifest(s) do not open (${broken.map((b) => b.message).join('; ')}); nothing was removed. Run chartvault backup verify.`,
    );
  const arrival = new Map(objects.map((o) => [o.path, o.storedAt]));
  const arrivedAt = (path: string) => arrival.get(path) ?? new Date(0);
  const latest = newest(snapshots);
  const kept = snapshots.filter((s) => s === latest || arrivedAt(objectPath('snapshot', s.name)) >= cutoff);
  const needed = new Set<string>();
  for (const s of kept) for (const link of chainTo(snapshots, s)) needed.add(link.name);
  const neededPacks = new Set(
    snapshots.filter((s) => needed.has(s.name)).flatMap((s) => s.manifest.packs.map((p) => p.name)),
  );
  const referenced = new Set(snapshots.flatMap((s) => s.manifest.packs.map((p) => p.name)));
  const newestArrival = latest ? arrivedAt(objectPath('snapshot', latest.name)) : new Date(0);
  return objects.filter((o) => {
    if (o.storedAt >= cutoff) return false;
    const snapshot = nameOfPath('snapshot', o.path);
    if (snapshot) return !needed.has(snapshot);
    const pack = nameOfPath('pack', o.path);
    if (!pack) return false;
    if (neededPacks.has(pack)) return false;
    // A stray pack that arrived after the newest snapshot may be reused by the next run: it stays.
    return referenced.has(pack) || o.storedAt < newestArrival;
  });
}
