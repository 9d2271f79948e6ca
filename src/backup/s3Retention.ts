/**
 * Keeping what an S3 target's kept snapshots need locked. A snapshot needs objects written long before
 * it: an increment those of its ancestors, a full snapshot those of the history it lists by reference,
 * some written long before their retention was set (kopia#1067: deduplicated objects whose lock ran out
 * while new snapshots still used them). After a snapshot, the target checks one marker; when the
 * oldest lock ends within the margin, it extends every object that a snapshot kept by the retention
 * policy lists (keptSnapshots, retention.ts: the newest snapshot, the full ones the next builds on, one
 * per hour, day, week, month and year, each with its chain; times from the manifests' createdAt) to
 * now + retention, then writes a new marker. Objects only snapshots retention drops list are not
 * extended: their locks run out, so that prune (prune.ts) can remove them.
 *
 * A marker `locks/<sweptAt>-<until>` (both UTC, yyyymmddThhmmssZ) says: every object a kept snapshot
 * listed at sweptAt is locked until at least <until>. A later snapshot lists only objects of snapshots
 * kept then (its chain, the full snapshots it builds on) or objects it wrote itself, which carry their
 * own retention (write time + retention), so what the kept snapshots need is locked until
 * min(until, sweptAt + retention). Without a marker, the config (the repository's first object) gives
 * the start: its write + retention. The check costs one LIST of locks/ per snapshot (and a HEAD of
 * config until the first sweep); a sweep, once every retention - margin days, costs one GET per
 * manifest and one PutObjectRetention per object kept snapshots list.
 */
import type { BackupKeys } from './backupKeys.ts';
import { BackupError } from './backupError.ts';
import { CONFIG_PATH, objectPath } from './repositoryFormat.ts';
import { keptSnapshots } from './retention.ts';
import { kindOf, loadSnapshots } from './snapshotManifest.ts';
import type { S3Target } from './s3Target.ts';

export const LOCKS_FOLDER = 'locks/';
export const DAY_MS = 86_400_000;

export interface LockKeeping {
  /** Until when the kept snapshots were known locked before this check (undefined: an empty repository). */
  lockedUntil?: Date;
  /** Objects whose retention was extended (0 when the locks held long enough). */
  extended: number;
  /** The new retain-until date of those objects. */
  until?: Date;
}

const stamp = (date: Date) =>
  date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
const MARKER = /^locks\/(\d{8}T\d{6}Z)-(\d{8}T\d{6}Z)$/;
const fromStamp = (s: string) =>
  new Date(`${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 11)}:${s.slice(11, 13)}:${s.slice(13, 15)}Z`);

/** The marker name of a sweep at `sweptAt` that locked the chain until `until`. */
export const markerPath = (sweptAt: Date, until: Date) => `${LOCKS_FOLDER}${stamp(sweptAt)}-${stamp(until)}`;

/** Until when what the kept snapshots need is known to be locked, from the newest marker or the config. */
export async function keptLockedUntil(target: S3Target): Promise<Date | undefined> {
  const retention = target.retentionDays * DAY_MS;
  let best: Date | undefined;
  for (const { path } of await target.listWithDates(LOCKS_FOLDER)) {
    const match = MARKER.exec(path);
    if (!match) continue;
    const held = Math.min(fromStamp(match[2]!).getTime(), fromStamp(match[1]!).getTime() + retention);
    if (!best || held > best.getTime()) best = new Date(held);
  }
  if (best) return best;
  const config = await target.head(CONFIG_PATH);
  return config ? new Date(config.lastModified.getTime() + retention) : undefined;
}

/**
 * Every object the snapshots kept by the target's retention policy (as of the target's now) list:
 * the config, their manifests and the data objects they list. `newestName`, just written, must be
 * readable (it is always kept).
 */
export async function keptObjects(target: S3Target, keys: BackupKeys, newestName: string): Promise<string[]> {
  const { snapshots } = await loadSnapshots(target, keys);
  if (!snapshots.some((s) => s.name === newestName))
    throw new BackupError(`snapshot ${newestName} is not readable in ${target.description}`);
  const kept = keptSnapshots({
    snapshots,
    policy: target.policy,
    now: new Date(target.now()),
    timeOf: (s) => new Date(s.manifest.createdAt),
  });
  const paths = new Set([CONFIG_PATH]);
  for (const s of snapshots.filter((s) => kept.has(s.name))) {
    paths.add(objectPath('snapshot', s.name));
    for (const pack of s.manifest.packs) paths.add(objectPath(kindOf(pack), pack.name));
  }
  return [...paths];
}

/**
 * After snapshot `newestName`: when the oldest lock ends within the target's margin, extend every object
 * a kept snapshot lists to now + retention and record the sweep. The config is extended last of the
 * objects and the marker written after all of them, so an interrupted sweep is simply done again.
 */
export async function keepSnapshotsLocked(
  target: S3Target,
  keys: BackupKeys,
  newestName: string,
): Promise<LockKeeping> {
  const lockedUntil = await keptLockedUntil(target);
  const now = target.now();
  if (lockedUntil && lockedUntil.getTime() - now > target.marginDays * DAY_MS)
    return { lockedUntil, extended: 0 };
  const paths = await keptObjects(target, keys, newestName);
  const until = target.retainUntil();
  await target.extendRetention(
    paths.filter((p) => p !== CONFIG_PATH),
    until,
  );
  await target.extendRetention([CONFIG_PATH], until);
  await target.putIfAbsent(markerPath(new Date(now), until), Buffer.from(`${until.toISOString()}\n`));
  return { lockedUntil, extended: paths.length, until };
}
