/**
 * When a snapshot is full (format 3, docs/backup-format.md section 7.1). A snapshot taken an hour, a
 * day, 30 days or 365 days after the newest full snapshot of that level (or a coarser one) is a full
 * snapshot of that level (the coarsest that is due): it lists the objects of the newest full snapshot
 * of that level or coarser (its base) by reference and packs what came after the base again, from the
 * store. So a full snapshot needs no other manifest,
 * retention can remove the increments between the full snapshots it keeps, and a full snapshot lists
 * at most about 24 + 31 + 12 sets of packs beyond the yearly ones: the list stays short however many
 * minute snapshots were taken. Each version and audit entry is packed once per level (at most five
 * times: minute, hour, day, month, year), each time proportional to what changed in that period.
 */
import { FULL_LEVELS, type FullLevel, type FullReference, type ListedSnapshot } from './snapshotManifest.ts';

/** A chain of increments never grows longer than this before an hour-level full snapshot. */
export const MAX_CHAIN = 120;

const HOUR_MS = 60 * 60 * 1000;
/** How old the newest full snapshot of a level (or coarser) is when the next one is due. */
export const FULL_INTERVAL_MS: Record<FullLevel, number> = {
  year: 365 * 24 * HOUR_MS,
  month: 30 * 24 * HOUR_MS,
  day: 24 * HOUR_MS,
  hour: HOUR_MS,
};

/** The coarsest level of full snapshot due after `parent` at `now`; undefined: an increment. */
export function fullLevelDue(parent: ListedSnapshot | undefined, now: Date): FullLevel | undefined {
  // No parent, or a parent of format 1 or 2 (it names no full snapshots): the whole history is packed.
  if (!parent || parent.manifest.version < 3) return 'year';
  const fulls = fullsAsOf(parent);
  const due = FULL_LEVELS.find((level) => {
    const newest = fulls[level];
    return !newest || now.getTime() - Date.parse(newest.createdAt) >= FULL_INTERVAL_MS[level];
  });
  if (due) return due;
  return parent.manifest.sequence >= MAX_CHAIN ? 'hour' : undefined;
}

/**
 * The newest full snapshot of each level or coarser as of `snapshot` itself: its own `fulls`, and when
 * it is full itself, itself for its level and every finer one.
 */
export function fullsAsOf(snapshot: ListedSnapshot): Partial<Record<FullLevel, FullReference>> {
  const fulls = { ...snapshot.manifest.fulls };
  const own = snapshot.manifest.full;
  if (own)
    for (const level of FULL_LEVELS.slice(FULL_LEVELS.indexOf(own.level)))
      fulls[level] = { name: snapshot.name, createdAt: snapshot.manifest.createdAt };
  return fulls;
}

/** The snapshots a full snapshot of `level` may build on, best first: that level's, else coarser ones. */
export function baseCandidates(fulls: Partial<Record<FullLevel, FullReference>>, level: FullLevel): string[] {
  const names = FULL_LEVELS.slice(0, FULL_LEVELS.indexOf(level) + 1)
    .reverse()
    .map((l) => fulls[l]?.name)
    .filter((name): name is string => name !== undefined);
  return [...new Set(names)];
}
