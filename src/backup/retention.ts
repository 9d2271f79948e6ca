/**
 * Which snapshots retention keeps (docs/backup-format.md section 13). By default: one snapshot per
 * hour for 48 hours, per day for 30 days, per week for 12 weeks, per month for 12 months and per year
 * for 7 years, periods in UTC. In each period the first full snapshot is kept (it stands alone), or
 * the first snapshot when the period has no full one: snapshots added later, even by a compromised
 * server, can never take an earlier snapshot's place; always the newest snapshot of all, the full
 * snapshots the next snapshot builds on, everything newer than a minimum age, and every snapshot a kept
 * one's chain passes through. The times come from the caller: the receiver gives its own arrival times,
 * never the times a client wrote into its manifests.
 */
import { BackupError } from './backupError.ts';
import { fullsAsOf } from './fullSnapshots.ts';
import { isFull, newest, type ListedSnapshot } from './snapshotManifest.ts';

export interface RetentionPolicy {
  /** One snapshot per hour for this many hours. */
  hourly: number;
  /** One per day for this many days. */
  daily: number;
  /** One per week (Monday to Sunday) for this many weeks. */
  weekly: number;
  /** One per calendar month for this many months. */
  monthly: number;
  /** One per calendar year for this many years. */
  yearly: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = {
  hourly: 48,
  daily: 30,
  weekly: 12,
  monthly: 12,
  yearly: 7,
};

const RULES = ['hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;

/** `hourly=48,daily=30,weekly=12,monthly=12,yearly=7` (any of them; the others keep their default). */
export function parseRetention(text: string, where = '--keep'): RetentionPolicy {
  const policy = { ...DEFAULT_RETENTION };
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [rule, value] = part.split('=');
    const count = Number(value);
    if (
      !RULES.includes(rule as (typeof RULES)[number]) ||
      !Number.isInteger(count) ||
      count < 0 ||
      count > 10_000
    )
      throw new BackupError(
        `${where}: "${part}" is not a retention rule; write e.g. hourly=48,daily=30,weekly=12,monthly=12,yearly=7 (whole numbers).`,
      );
    policy[rule as (typeof RULES)[number]] = count;
  }
  return policy;
}

export const describeRetention = (p: RetentionPolicy) =>
  `hourly for ${p.hourly} hours, daily for ${p.daily} days, weekly for ${p.weekly} weeks, monthly for ${p.monthly} months, yearly for ${p.yearly} years`;

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Each rule's oldest time kept and the period a time falls in. */
function rules(policy: RetentionPolicy, now: Date): { since: number; period: (t: Date) => string }[] {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const all: { since: number; period: (t: Date) => string }[] = [
    { since: now.getTime() - policy.hourly * HOUR_MS, period: (t) => t.toISOString().slice(0, 13) },
    { since: now.getTime() - policy.daily * DAY_MS, period: (t) => t.toISOString().slice(0, 10) },
    {
      since: now.getTime() - policy.weekly * 7 * DAY_MS,
      // Days since the epoch's Monday (1970-01-05), in whole weeks.
      period: (t) => String(Math.floor((t.getTime() - 4 * DAY_MS) / (7 * DAY_MS))),
    },
    // The calendar month (year) now is in counts as one of them.
    { since: Date.UTC(y, m - policy.monthly + 1, 1), period: (t) => t.toISOString().slice(0, 7) },
    { since: Date.UTC(y - policy.yearly + 1, 0, 1), period: (t) => t.toISOString().slice(0, 4) },
  ];
  return all.filter((_, i) => policy[RULES[i]!] > 0);
}

export interface RetentionInput {
  snapshots: ListedSnapshot[];
  policy: RetentionPolicy;
  now: Date;
  /** When each snapshot was taken (or arrived, on the receiver). */
  timeOf: (s: ListedSnapshot) => Date;
  /** Snapshots at or after this time are all kept (the receiver's minimum retention). */
  keepAllSince?: Date;
}

/** The names of the snapshots retention keeps. */
export function keptSnapshots(input: RetentionInput): Set<string> {
  const { snapshots, now, timeOf } = input;
  const byName = new Map(snapshots.map((s) => [s.name, s]));
  const chosen = new Set<ListedSnapshot>();
  const latest = newest(snapshots);
  if (latest) {
    chosen.add(latest);
    // The full snapshots the next one may build on stay, so the writer never packs them again.
    for (const ref of Object.values(fullsAsOf(latest))) {
      const base = byName.get(ref.name);
      if (base) chosen.add(base);
    }
  }
  for (const s of snapshots) if (input.keepAllSince && timeOf(s) >= input.keepAllSince) chosen.add(s);
  for (const rule of rules(input.policy, now)) {
    const best = new Map<string, ListedSnapshot>();
    for (const s of snapshots) {
      const t = timeOf(s);
      if (t.getTime() < rule.since || t > now) continue;
      const key = rule.period(t);
      const held = best.get(key);
      // The first in the period: what arrives later cannot displace it.
      const better =
        !held ||
        (isFull(s.manifest) && !isFull(held.manifest)) ||
        (isFull(s.manifest) === isFull(held.manifest) && t < timeOf(held));
      if (better) best.set(key, s);
    }
    for (const s of best.values()) chosen.add(s);
  }
  const kept = new Set<string>();
  for (const s of chosen) addWithAncestors(s, byName, kept);
  return kept;
}

/** Adds `snapshot` and every ancestor its restore replays (as far as they exist) to `names`. */
export function addWithAncestors(
  snapshot: ListedSnapshot,
  byName: Map<string, ListedSnapshot>,
  names: Set<string>,
): void {
  for (let s: ListedSnapshot | undefined = snapshot; s && !names.has(s.name);) {
    names.add(s.name);
    s = s.manifest.parent === null ? undefined : byName.get(s.manifest.parent);
  }
}

export interface StoredObject {
  path: string;
  size: number;
  /** When the target stored it. */
  storedAt: Date;
}

/**
 * The data objects no kept snapshot lists, among `objects` (paths under packs/): those some snapshot
 * lists (it is going), and strays no snapshot lists that were stored before the newest snapshot (left by
 * an interrupted run; a newer stray may be reused by the run in progress, so it stays).
 */
export function unneededObjects(
  snapshots: ListedSnapshot[],
  kept: Set<string>,
  objects: StoredObject[],
  newestStoredAt: Date,
  nameOf: (path: string) => string | undefined,
): StoredObject[] {
  const needed = new Set(
    snapshots.filter((s) => kept.has(s.name)).flatMap((s) => s.manifest.packs.map((p) => p.name)),
  );
  const listed = new Set(snapshots.flatMap((s) => s.manifest.packs.map((p) => p.name)));
  return objects.filter((o) => {
    const name = nameOf(o.path);
    if (!name || needed.has(name)) return false;
    return listed.has(name) || o.storedAt < newestStoredAt;
  });
}
