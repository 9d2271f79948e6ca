/**
 * Snapshot manifests: a snapshot is an increment, the versions with afterVid < vid <= throughVid,
 * and names its parent (the snapshot whose throughVid is its afterVid); or (format 3) a full snapshot,
 * which has no parent and lists every data object of the history, old ones by reference. Restoring a
 * snapshot replays its chain from the full snapshot it starts at. Listing and chain building read only
 * manifests (small: a few hundred bytes plus one line per pack).
 */
import { BackupError } from './backupError.ts';
import type { BackupKeys } from './backupKeys.ts';
import type { RecordsSummary } from './recordsObject.ts';
import {
  CorruptObject,
  FORMAT_VERSION,
  nameOfPath,
  objectPath,
  openObject,
  type DataKind,
} from './repositoryFormat.ts';
import type { BackupTarget } from './target.ts';

/** A pack of resource versions (format 1 entries have no `kind`). */
export interface VersionPackEntry {
  kind?: 'versions';
  name: string;
  /** Stored (sealed) size in bytes. */
  size: number;
  firstVid: number;
  lastVid: number;
  count: number;
  /** SHA-256 of the pack payload (before compression). */
  sha256: string;
}

/** A pack of audit entries (format 2). */
export interface AuditPackEntry {
  kind: 'audit';
  name: string;
  size: number;
  sha256: string;
  firstSeq: number;
  lastSeq: number;
  count: number;
  /** hash(firstSeq - 1) and hash(lastSeq), hex. */
  previousHash: string;
  lastHash: string;
}

/** The records object (format 2), listed by the snapshot whose records it first holds. */
export interface RecordsEntry {
  kind: 'records';
  name: string;
  size: number;
  sha256: string;
  count: number;
}

/** Every data object a snapshot adds (or, for records, names again): all live under packs/. */
export type PackEntry = VersionPackEntry | AuditPackEntry | RecordsEntry;

/** The audit chain's part of a snapshot (format 2). */
export interface AuditRange {
  /** The parent's throughSeq (0 for a first snapshot, or after a format-1 parent). */
  afterSeq: number;
  /** The chain's last entry when the snapshot was taken. */
  throughSeq: number;
  /** hash(throughSeq), hex (64 zeros when the chain is empty). */
  hash: string;
  /** The newest checkpoint seq held by this snapshot's chain (this snapshot's or an ancestor's). */
  checkpointsThrough: number;
  /** Checkpoint lines new in this snapshot, exactly as stored, in seq order. */
  checkpoints: string[];
  /** The raw Ed25519 public keys (hex) of this snapshot's checkpoints, by key id. */
  keys: Record<string, string>;
}

/** Format 3: the periods at which full snapshots are written, coarsest first (fullSnapshots.ts). */
export const FULL_LEVELS = ['year', 'month', 'day', 'hour'] as const;
export type FullLevel = (typeof FULL_LEVELS)[number];
/** A full snapshot named by another manifest. */
export interface FullReference {
  name: string;
  createdAt: string;
}

export interface SnapshotManifest {
  format: 'chartvault-snapshot';
  /** 1, 2 or 3; a reader refuses a newer one. */
  version: 1 | 2 | 3;
  storeId: string;
  createdAt: string;
  /** 1 for the first snapshot, parent's + 1 after: the length of the chain a restore replays. */
  sequence: number;
  parent: string | null;
  afterVid: number;
  throughVid: number;
  packs: PackEntry[];
  /** Versions in this increment, per resource type. */
  versionsByType: Record<string, number>;
  /** Live (not deleted) resources per type in the store at throughVid. */
  resources: Record<string, number>;
  /**
   * SHA-256 chain over the version packs only: hex SHA-256 of (parent's contentHash bytes, or 32 zero
   * bytes) then each version pack's sha256 bytes.
   */
  contentHash: string;
  /**
   * The newest version at throughVid (null in an empty store): the next snapshot checks the store
   * still has it, so that a store whose history took another turn (restored from an older snapshot)
   * never continues a chain that is not its own.
   */
  tip: { vid: number; type: string; id: string; version: number; lastUpdated: number } | null;
  /** The store's settings file (chartvault.json), exact text. */
  settings: string;
  /** Format 2: the audit entries of this increment. Read as empty for a format-1 manifest. */
  audit: AuditRange;
  /** Format 2: the durable security records at the mark (null when there are none, or in format 1). */
  records: RecordsSummary | null;
  /**
   * Format 3, full snapshots only: the period whose first snapshot this is, and the full snapshot whose
   * objects it lists again by reference before its own (null: it packed the whole history itself).
   */
  full?: { level: FullLevel; base: string | null };
  /**
   * Format 3: the newest full snapshot of each level or coarser before this one (this one excluded:
   * a manifest cannot name itself). The writer's next full snapshot of a level builds on it.
   */
  fulls?: Partial<Record<FullLevel, FullReference>>;
}

export const versionPacks = (m: SnapshotManifest) =>
  m.packs.filter((p): p is VersionPackEntry => p.kind === undefined || p.kind === 'versions');
export const auditPacks = (m: SnapshotManifest) =>
  m.packs.filter((p): p is AuditPackEntry => p.kind === 'audit');
export const recordsEntry = (m: SnapshotManifest) =>
  m.packs.find((p): p is RecordsEntry => p.kind === 'records');

/** The object kind of a pack entry (its label in names and headers). */
export const kindOf = (p: PackEntry): DataKind =>
  p.kind === 'audit' ? 'audit' : p.kind === 'records' ? 'records' : 'pack';

export const NO_AUDIT_HASH = '0'.repeat(64);

/** A full snapshot stands alone: no parent (a first snapshot of formats 1 and 2 is one too). */
export const isFull = (m: SnapshotManifest) => m.parent === null;

export interface ListedSnapshot {
  name: string;
  manifest: SnapshotManifest;
}

/** One manifest by name, or undefined when it is not in the target (or does not open). */
export async function loadSnapshot(
  target: BackupTarget,
  keys: BackupKeys,
  name: string,
): Promise<ListedSnapshot | undefined> {
  const path = objectPath('snapshot', name);
  const bytes = await target.get(path);
  if (!bytes) return undefined;
  try {
    return { name, manifest: readManifest(keys, path, name, bytes) };
  } catch (error) {
    if (error instanceof CorruptObject) return undefined;
    throw error;
  }
}

function readManifest(keys: BackupKeys, path: string, name: string, bytes: Buffer): SnapshotManifest {
  const manifest = JSON.parse(openObject(keys, 'snapshot', path, name, bytes).toString()) as SnapshotManifest;
  if (manifest.format !== 'chartvault-snapshot') throw new CorruptObject(path, 'not a snapshot manifest');
  if (manifest.version > FORMAT_VERSION)
    throw new BackupError(
      `${path} is a snapshot of a newer format (version ${manifest.version}; this ChartVault reads up to ${FORMAT_VERSION}): upgrade ChartVault.`,
    );
  // A format-1 snapshot holds no audit entries and no records: read as an empty range and none.
  if (manifest.version === 1) {
    manifest.audit = {
      afterSeq: 0,
      throughSeq: 0,
      hash: NO_AUDIT_HASH,
      checkpointsThrough: 0,
      checkpoints: [],
      keys: {},
    };
    manifest.records = null;
  }
  return manifest;
}

/** Reads every manifest; unreadable ones are returned apart, so that verify can name them. */
export async function loadSnapshots(
  target: BackupTarget,
  keys: BackupKeys,
): Promise<{ snapshots: ListedSnapshot[]; broken: CorruptObject[] }> {
  const snapshots: ListedSnapshot[] = [];
  const broken: CorruptObject[] = [];
  for (const path of await target.list('snapshots/')) {
    const name = nameOfPath('snapshot', path);
    if (!name) continue;
    try {
      const manifest = readManifest(keys, path, name, (await target.get(path))!);
      snapshots.push({ name, manifest });
    } catch (error) {
      if (error instanceof CorruptObject) broken.push(error);
      else throw error;
    }
  }
  // Oldest first, by the time each was taken (a full snapshot starts its chain again at sequence 1).
  snapshots.sort(
    (a, b) =>
      Date.parse(a.manifest.createdAt) - Date.parse(b.manifest.createdAt) ||
      a.manifest.sequence - b.manifest.sequence,
  );
  return { snapshots, broken };
}

/** The newest snapshot: the one with the highest mark (versions, then audit entries), then the latest. */
export function newest(snapshots: ListedSnapshot[]): ListedSnapshot | undefined {
  const later = (a: SnapshotManifest, b: SnapshotManifest) =>
    a.throughVid - b.throughVid ||
    a.audit.throughSeq - b.audit.throughSeq ||
    a.sequence - b.sequence ||
    a.createdAt.localeCompare(b.createdAt);
  return snapshots.reduce<ListedSnapshot | undefined>(
    (best, s) => (!best || later(s.manifest, best.manifest) > 0 ? s : best),
    undefined,
  );
}

/** A snapshot by its name or a unique prefix of it (8 or more hex characters). */
export function findSnapshot(snapshots: ListedSnapshot[], id: string): ListedSnapshot {
  const matches = snapshots.filter((s) => s.name.startsWith(id.toLowerCase()));
  if (id.length < 8 || matches.length === 0)
    throw new BackupError(`No snapshot ${id} in this target (give at least 8 characters of its id).`);
  if (matches.length > 1) throw new BackupError(`${id} names more than one snapshot; give more characters.`);
  return matches[0]!;
}

/** The chain from the first snapshot to `tip`, checked to be unbroken; a gap names what is missing. */
export function chainTo(snapshots: ListedSnapshot[], tip: ListedSnapshot): ListedSnapshot[] {
  const byName = new Map(snapshots.map((s) => [s.name, s]));
  const chain = [tip];
  for (let s = tip; s.manifest.parent !== null;) {
    const parent = byName.get(s.manifest.parent);
    if (!parent)
      throw new BackupError(
        `Snapshot ${short(tip.name)} cannot be restored: its ancestor ${objectPath('snapshot', s.manifest.parent)} is missing or damaged.`,
      );
    if (parent.manifest.throughVid !== s.manifest.afterVid)
      throw new BackupError(`Snapshot ${short(s.name)} does not continue its parent ${short(parent.name)}.`);
    const broken = linkProblem(s.manifest, parent.manifest);
    if (broken) throw new BackupError(`Snapshot ${short(s.name)}: ${broken}.`);
    chain.unshift(parent);
    s = parent;
  }
  if (chain[0]!.manifest.afterVid !== 0)
    throw new BackupError(`Snapshot ${short(tip.name)}: the chain does not start at the first version.`);
  const first = linkProblem(chain[0]!.manifest, undefined);
  if (first) throw new BackupError(`Snapshot ${short(chain[0]!.name)}: ${first}.`);
  return chain;
}

/**
 * What the manifests alone prove about a snapshot's audit entries and records (section 7): its audit
 * packs cover exactly the entries after its parent's, each continuing the hash the one before ended
 * with, ending at its own `audit.hash`; new records are in a records object it lists. Undefined when
 * all holds.
 */
export function linkProblem(m: SnapshotManifest, parent: SnapshotManifest | undefined): string | undefined {
  const audit = m.audit;
  const parentAudit = parent?.audit;
  if (audit.afterSeq !== (parentAudit?.throughSeq ?? 0))
    return `its audit entries start after #${audit.afterSeq}, but its parent's end at #${parentAudit?.throughSeq ?? 0}`;
  let seq = audit.afterSeq;
  let hash = parentAudit?.hash ?? NO_AUDIT_HASH;
  for (const pack of auditPacks(m)) {
    if (pack.firstSeq !== seq + 1 || pack.lastSeq !== pack.firstSeq + pack.count - 1 || pack.count < 1)
      return `its audit packs do not cover the entries after #${seq} in order`;
    if (pack.previousHash !== hash) return `the audit entries after #${seq} do not continue the chain`;
    seq = pack.lastSeq;
    hash = pack.lastHash;
  }
  if (seq !== audit.throughSeq || hash !== audit.hash)
    return `its audit packs end at #${seq}, not at the #${audit.throughSeq} it names`;
  if (audit.checkpointsThrough < (parentAudit?.checkpointsThrough ?? 0) || audit.checkpointsThrough > seq)
    return 'its newest checkpoint is out of its range';
  const records = recordsEntry(m);
  if (m.records && m.records.sha256 !== parent?.records?.sha256 && records?.sha256 !== m.records.sha256)
    return 'its security records changed but it lists no records object holding them';
  if (records && records.sha256 !== m.records?.sha256)
    return 'it lists a records object that is not its records';
  return undefined;
}

/**
 * The records object holding the records of a chain's last snapshot (the newest one listed along the
 * chain with that content), or undefined when it has none.
 */
export function recordsOf(chain: ListedSnapshot[]): RecordsEntry | undefined {
  const wanted = chain.at(-1)?.manifest.records?.sha256;
  if (!wanted) return undefined;
  for (let i = chain.length - 1; i >= 0; i--) {
    const entry = recordsEntry(chain[i]!.manifest);
    if (entry?.sha256 === wanted) return entry;
  }
  return undefined;
}

export const short = (name: string) => name.slice(0, 12);
