/**
 * Snapshot manifests: each snapshot is an increment, the versions with afterVid < vid <= throughVid,
 * and names its parent (the snapshot whose throughVid is its afterVid). Restoring a snapshot replays
 * the chain from the first snapshot. Listing and chain building read only manifests (small: a few
 * hundred bytes plus one line per pack).
 */
import { BackupError } from './backupError.ts';
import type { BackupKeys } from './backupKeys.ts';
import { CorruptObject, nameOfPath, objectPath, openObject } from './repositoryFormat.ts';
import type { BackupTarget } from './target.ts';

export interface PackEntry {
  name: string;
  /** Stored (sealed) size in bytes. */
  size: number;
  firstVid: number;
  lastVid: number;
  count: number;
  /** SHA-256 of the pack payload (before compression). */
  sha256: string;
}

export interface SnapshotManifest {
  format: 'chartvault-snapshot';
  version: 1;
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
  /** SHA-256 chain: hex SHA-256 of (parent's contentHash bytes, or 32 zero bytes) then each pack's sha256 bytes. */
  contentHash: string;
  /**
   * The newest version at throughVid (null in an empty store): the next snapshot checks the store
   * still has it, so that a store whose history took another turn (restored from an older snapshot)
   * never continues a chain that is not its own.
   */
  tip: { vid: number; type: string; id: string; version: number; lastUpdated: number } | null;
  /** The store's settings file (chartvault.json), exact text. */
  settings: string;
}

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
  if (manifest.version > 1)
    throw new BackupError(
      `${path} is a snapshot of a newer format (version ${manifest.version}): upgrade ChartVault.`,
    );
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
  snapshots.sort(
    (a, b) =>
      a.manifest.sequence - b.manifest.sequence || a.manifest.createdAt.localeCompare(b.manifest.createdAt),
  );
  return { snapshots, broken };
}

/** The newest snapshot: the one with the highest mark (then the latest). */
export function newest(snapshots: ListedSnapshot[]): ListedSnapshot | undefined {
  return snapshots.reduce<ListedSnapshot | undefined>(
    (best, s) =>
      !best ||
      s.manifest.throughVid > best.manifest.throughVid ||
      (s.manifest.throughVid === best.manifest.throughVid && s.manifest.createdAt > best.manifest.createdAt)
        ? s
        : best,
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
    chain.unshift(parent);
    s = parent;
  }
  if (chain[0]!.manifest.afterVid !== 0)
    throw new BackupError(`Snapshot ${short(tip.name)}: the chain does not start at the first version.`);
  return chain;
}

export const short = (name: string) => name.slice(0, 12);
