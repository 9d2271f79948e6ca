/**
 * Taking a snapshot: the versions written since the newest snapshot in the target, packed, sealed and
 * written once, then the manifest last. A run killed before the manifest leaves only packs nobody
 * lists (the next run writes the same packs again, byte for byte, and finds them there). When nothing
 * changed since the newest snapshot, nothing is written at all.
 */
import type { RawVersion, SqliteStore } from '../store/index.ts';
import { BackupError } from './backupError.ts';
import type { BackupKeys } from './backupKeys.ts';
import { PackBuilder, sha256 } from './packWriter.ts';
import { openOrCreateRepository } from './repository.ts';
import { objectPath, sealObject } from './repositoryFormat.ts';
import {
  loadSnapshot,
  loadSnapshots,
  newest,
  short,
  type PackEntry,
  type SnapshotManifest,
} from './snapshotManifest.ts';
import type { BackupTarget } from './target.ts';

export interface SnapshotInput {
  store: SqliteStore;
  storeId: string;
  /** The settings file's exact text. */
  settings: string;
  keys: BackupKeys;
  target: BackupTarget;
  /** The newest snapshot this store wrote to the target, when known (backupState.ts): read alone. */
  lastKnown?: string;
}

export interface SnapshotResult {
  /** The snapshot written, or the newest one when nothing changed. */
  name: string;
  unchanged: boolean;
  manifest: SnapshotManifest;
  versions: number;
  objectsWritten: number;
  bytesWritten: number;
  seconds: number;
}

const READ_BATCH = 2000;

export async function takeSnapshot(input: SnapshotInput): Promise<SnapshotResult> {
  const started = performance.now();
  const { store, storeId, keys, target } = input;
  await openOrCreateRepository(target, keys, storeId);
  const parent =
    (input.lastKnown && (await loadSnapshot(target, keys, input.lastKnown))) ||
    newest((await loadSnapshots(target, keys)).snapshots);
  const mark = store.versionMark();
  const afterVid = parent?.manifest.throughVid ?? 0;
  if (mark.vid < afterVid)
    throw new BackupError(
      `${target.description} holds snapshots newer than this store (up to version ${afterVid}, the store is at ${mark.vid}): ` +
        'is this a store restored from an older snapshot? Back it up to a new target folder.',
    );
  if (parent?.manifest.tip) {
    const tip = parent.manifest.tip;
    const [same] = store.versionsAfter(tip.vid - 1, tip.vid, 1);
    const matches =
      same?.type === tip.type &&
      same.id === tip.id &&
      same.version === tip.version &&
      same.lastUpdated === tip.lastUpdated;
    if (!matches)
      throw new BackupError(
        `${target.description} holds snapshots of another history of this store (its snapshot ${short(parent.name)} ` +
          'does not match this store: restored from an older snapshot?). Back it up to a new target folder.',
      );
  }
  const seconds = () => (performance.now() - started) / 1000;
  if (parent && mark.vid === afterVid && parent.manifest.settings === input.settings)
    return {
      name: parent.name,
      unchanged: true,
      manifest: parent.manifest,
      versions: 0,
      objectsWritten: 0,
      bytesWritten: 0,
      seconds: seconds(),
    };

  let objectsWritten = 0;
  let bytesWritten = 0;
  const put = async (path: string, bytes: Buffer) => {
    if ((await target.putIfAbsent(path, bytes)) === 'written') {
      objectsWritten++;
      bytesWritten += bytes.length;
    }
  };
  const packs: PackEntry[] = [];
  const versionsByType: Record<string, number> = {};
  const builder = new PackBuilder();
  const flush = async () => {
    const { payload, header } = builder.take();
    const sealed = sealObject(keys, 'pack', payload);
    await put(objectPath('pack', sealed.name), sealed.bytes);
    packs.push({
      name: sealed.name,
      size: sealed.bytes.length,
      firstVid: header.firstVid,
      lastVid: header.lastVid,
      count: header.count,
      sha256: sha256(payload),
    });
  };
  let versions = 0;
  for (let after = afterVid; after < mark.vid;) {
    const batch = store.versionsAfter(after, mark.vid, READ_BATCH);
    if (batch.length === 0) break;
    for (const v of batch) {
      builder.add(v);
      versionsByType[v.type] = (versionsByType[v.type] ?? 0) + 1;
      if (builder.full) await flush();
    }
    versions += batch.length;
    after = batch.at(-1)!.vid;
  }
  if (builder.count > 0) await flush();

  const chain = packs.reduce(
    (hash, pack) => Buffer.concat([hash, Buffer.from(pack.sha256, 'hex')]),
    parent ? Buffer.from(parent.manifest.contentHash, 'hex') : Buffer.alloc(32),
  );
  const manifest: SnapshotManifest = {
    format: 'chartvault-snapshot',
    version: 1,
    storeId,
    createdAt: new Date().toISOString(),
    sequence: (parent?.manifest.sequence ?? 0) + 1,
    parent: parent?.name ?? null,
    afterVid,
    throughVid: mark.vid,
    packs,
    versionsByType,
    resources: mark.counts,
    contentHash: sha256(chain),
    tip: tipOf(store.versionsAfter(mark.vid - 1, mark.vid, 1)[0]),
    settings: input.settings,
  };
  const sealed = sealObject(keys, 'snapshot', Buffer.from(JSON.stringify(manifest)));
  await put(objectPath('snapshot', sealed.name), sealed.bytes);
  return {
    name: sealed.name,
    unchanged: false,
    manifest,
    versions,
    objectsWritten,
    bytesWritten,
    seconds: seconds(),
  };
}

function tipOf(v: RawVersion | undefined): SnapshotManifest['tip'] {
  return v ? { vid: v.vid, type: v.type, id: v.id, version: v.version, lastUpdated: v.lastUpdated } : null;
}

export { short };
