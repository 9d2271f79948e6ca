/**
 * Retention on the receiver, run only on the receiver's own machine (`chartvault receiver prune`),
 * never over the network. Ages come from the receiver's clock (when each object arrived), never from
 * the times a client writes into its snapshots, so back-dated snapshots cannot steer it.
 *
 * What is safe to remove depends on what snapshots reference, and manifests are sealed with the
 * practice's backup key, which the receiver does not hold:
 * - without the key, the receiver must assume a snapshot needs everything that arrived before it; in
 *   format version 1 every snapshot is an increment of its parent anyway, so nothing is removed;
 * - with the recovery kit (`--kit`), it reads the manifests and applies the retention policy
 *   (retention.ts) by arrival times: everything that arrived within `--keep-days` stays; before that,
 *   one snapshot per hour, day, week, month and year as the policy says, each with its chain. Snapshots
 *   it does not keep go, with the objects only they list, and so do old objects no manifest lists (left
 *   by interrupted runs). Full snapshots (format 3) make this free older snapshots; in versions 1 and 2
 *   one chain holds every snapshot of a target, so there only such stray objects go.
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
import { DEFAULT_RETENTION, keptSnapshots, unneededObjects, type RetentionPolicy } from '../retention.ts';
import { loadSnapshots, newest } from '../snapshotManifest.ts';
import { PracticeObjects, type ObjectInfo } from './practiceObjects.ts';
import { ReceiverHome } from './receiverHome.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface PruneInput {
  dataDir: string;
  practice: string;
  keepDays: number;
  /** Beyond keepDays, what the kit lets it keep (default: hourly 48h, daily 30d, ... yearly 7y). */
  policy?: RetentionPolicy;
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
        'which objects a snapshot lists, so it cannot tell which of them the snapshots it keeps still need ' +
        '(an increment needs its whole chain; a full snapshot lists objects written long before it). Nothing was removed. ' +
        'With --kit it applies the retention and removes what no kept snapshot needs.',
    };
  const removable = await removableWithKit(
    folder,
    objects,
    input.kit,
    cutoff,
    now,
    input.policy ?? DEFAULT_RETENTION,
  );
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
        : `${old.length - removed.length} objects older than ${input.keepDays} days are kept: snapshots the retention keeps list them ` +
          '(in format versions 1 and 2 the newest snapshot depends on every earlier one).',
  };
}

async function removableWithKit(
  folder: string,
  objects: ObjectInfo[],
  kit: RecoveryKit,
  cutoff: Date,
  now: Date,
  policy: RetentionPolicy,
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
  // An object without a known arrival counts as arrived now: it is never old enough to go.
  const arrivedAt = (path: string) => arrival.get(path) ?? now;
  const kept = keptSnapshots({
    snapshots,
    policy,
    now,
    timeOf: (s) => arrivedAt(objectPath('snapshot', s.name)),
    keepAllSince: cutoff,
  });
  const latest = newest(snapshots);
  const newestArrival = latest ? arrivedAt(objectPath('snapshot', latest.name)) : new Date(0);
  const going = new Set(
    unneededObjects(snapshots, kept, objects, newestArrival, (path) => nameOfPath('pack', path)).map(
      (o) => o.path,
    ),
  );
  return objects.filter((o) => {
    if (o.storedAt >= cutoff) return false;
    const snapshot = nameOfPath('snapshot', o.path);
    return snapshot ? !kept.has(snapshot) : going.has(o.path);
  });
}
