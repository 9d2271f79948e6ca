/**
 * Taking a snapshot: what changed since the newest snapshot in the target (resource versions, audit
 * entries and checkpoints, and the security records when they differ), packed, sealed and written
 * once, then the manifest last. When a full snapshot is due (fullSnapshots.ts), it packs what changed
 * since its base instead and lists the base's objects before its own. A run killed before the
 * manifest leaves only packs nobody lists (the next run writes the same packs again, byte for byte,
 * and finds them there). When nothing changed since the newest snapshot, nothing is written at all.
 */
import { parseCheckpointLine } from '../audit/chainFormat.ts';
import type { BackupPoint, RawVersion, SqliteStore } from '../store/index.ts';
import { AuditPackBuilder } from './auditPack.ts';
import { BackupError } from './backupError.ts';
import type { BackupKeys } from './backupKeys.ts';
import { PackBuilder, sha256 } from './packWriter.ts';
import { baseCandidates, fullLevelDue, fullsAsOf } from './fullSnapshots.ts';
import { DURABLE_RECORD_KINDS, recordsPayload } from './recordsObject.ts';
import { openOrCreateRepository } from './repository.ts';
import { FORMAT_VERSION, objectPath, sealObject, sealObjectInPool } from './repositoryFormat.ts';
import {
  loadSnapshot,
  loadSnapshots,
  newest,
  NO_AUDIT_HASH,
  short,
  versionPacks,
  type FullLevel,
  type ListedSnapshot,
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
  /**
   * The public keys (raw, hex) that may have signed this store's checkpoints, by key id: its own audit
   * key and the earlier ones of a restored store (src/audit/signingKey.ts knownAuditPublicKeys).
   */
  auditKeys?: Record<string, string>;
  /** The time the snapshot is taken at (tests); the clock's by default. */
  now?: Date;
}

export interface SnapshotResult {
  /** The snapshot written, or the newest one when nothing changed. */
  name: string;
  unchanged: boolean;
  manifest: SnapshotManifest;
  versions: number;
  auditEntries: number;
  objectsWritten: number;
  bytesWritten: number;
  seconds: number;
}

const READ_BATCH = 2000;
/**
 * A run whose only new audit entries are this many `backup` entries or fewer (each run records itself)
 * counts as no change: those entries go into the next snapshot that has something else to hold.
 */
const BACKUP_ENTRIES_IGNORED = 20;

export async function takeSnapshot(input: SnapshotInput): Promise<SnapshotResult> {
  const started = performance.now();
  const { store, storeId, keys, target } = input;
  await openOrCreateRepository(target, keys, storeId);
  const parent =
    (input.lastKnown && (await loadSnapshot(target, keys, input.lastKnown))) ||
    newest((await loadSnapshots(target, keys)).snapshots);
  const parentAudit = parent?.manifest.audit;
  const now = input.now ?? new Date();
  const fullLevel = fullLevelDue(parent, now);
  // A full snapshot lists every checkpoint, as it lists every entry.
  const point = store.backupPoint({
    checkpointsAfter: fullLevel ? 0 : (parentAudit?.checkpointsThrough ?? 0),
    recordKinds: DURABLE_RECORD_KINDS,
  });
  if (parent) checkContinues(store, point, parent, target);
  const records = point.records.length > 0 ? recordsPayload(point.records) : undefined;
  const seconds = () => (performance.now() - started) / 1000;
  if (
    parent &&
    point.vid === parent.manifest.throughVid &&
    parent.manifest.settings === input.settings &&
    parent.manifest.records?.sha256 === records?.summary.sha256 &&
    onlyBackupEntries(store, parentAudit!.throughSeq, point.auditSeq)
  )
    return {
      name: parent.name,
      unchanged: true,
      manifest: parent.manifest,
      versions: 0,
      auditEntries: 0,
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
  // What the new packs continue: the parent, or for a full snapshot its base (whose objects it lists).
  const base = fullLevel && parent ? await loadBase(target, keys, parent, fullLevel) : undefined;
  const from = fullLevel ? base : parent;
  const afterVid = from?.manifest.throughVid ?? 0;
  const afterSeq = from?.manifest.audit.throughSeq ?? 0;
  const packs: PackEntry[] = base ? base.manifest.packs.filter((p) => p.kind !== 'records') : [];
  const pipeline = new SealPipeline();
  // Seals a payload and writes it under its content name; its manifest entry (made by `entry` from
  // that name and size) takes the next place in `packs`, whenever the sealing finishes.
  const writeObject = (
    kind: 'pack' | 'audit' | 'records',
    payload: Buffer,
    entry: (written: { name: string; size: number }) => PackEntry,
  ) => {
    const slot = packs.push(undefined as unknown as PackEntry) - 1;
    return pipeline.add(
      sealObjectInPool(keys, kind, payload).then(async (sealed) => {
        await put(objectPath(kind, sealed.name), sealed.bytes);
        packs[slot] = entry({ name: sealed.name, size: sealed.bytes.length });
      }),
    );
  };

  // Resource versions: afterVid < vid <= the mark.
  const versionsByType: Record<string, number> = { ...base?.manifest.versionsByType };
  const builder = new PackBuilder();
  const flush = () => {
    const { payload, header } = builder.take();
    return writeObject('pack', payload, (written) => ({
      kind: 'versions',
      ...written,
      firstVid: header.firstVid,
      lastVid: header.lastVid,
      count: header.count,
      sha256: sha256(payload),
    }));
  };
  let versions = 0;
  for (let after = afterVid; after < point.vid;) {
    const batch = store.versionsAfter(after, point.vid, READ_BATCH);
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

  // Audit entries: afterSeq < seq <= the chain's head at the mark, hashed on from the parent's last.
  const audit = new AuditPackBuilder(Buffer.from(from?.manifest.audit.hash ?? NO_AUDIT_HASH, 'hex'));
  const flushAudit = () => {
    const { payload, header, lastHash } = audit.take();
    return writeObject('audit', payload, (written) => ({
      kind: 'audit',
      ...written,
      sha256: sha256(payload),
      firstSeq: header.firstSeq,
      lastSeq: header.lastSeq,
      count: header.count,
      previousHash: header.previousHash,
      lastHash,
    }));
  };
  let auditEntries = 0;
  for (let after = afterSeq; after < point.auditSeq;) {
    const batch = store.auditEntryTexts(after, point.auditSeq, READ_BATCH);
    if (batch.length === 0) break;
    for (const [seq, entry] of batch) {
      audit.add(seq, entry);
      if (audit.full) await flushAudit();
    }
    auditEntries += batch.length;
    after = batch.at(-1)![0];
  }
  if (audit.count > 0) await flushAudit();
  if (audit.lastHash.toString('hex') !== point.auditHash.toString('hex'))
    throw new BackupError(
      'The audit chain read for this snapshot does not end with the hash the store holds: run chartvault audit verify.',
    );

  // Security records: a full copy when they differ from the parent's (or named again by a full snapshot:
  // the same content seals to the same object, found in the target).
  if (records && (fullLevel || parent?.manifest.records?.sha256 !== records.summary.sha256)) {
    await writeObject('records', records.payload, (written) => ({
      kind: 'records',
      ...written,
      sha256: records.summary.sha256,
      count: records.summary.count,
    }));
  }
  // Every object is written before the manifest that names them.
  await pipeline.drain();

  const checkpointKeys: Record<string, string> = {};
  for (const { line } of point.checkpoints) {
    const parsed = parseCheckpointLine(line);
    const key = typeof parsed === 'string' ? undefined : input.auditKeys?.[parsed.key];
    if (typeof parsed !== 'string' && key) checkpointKeys[parsed.key] = key;
  }
  const chain = versionPacks({ packs } as SnapshotManifest).reduce(
    (hash, pack) => Buffer.concat([hash, Buffer.from(pack.sha256, 'hex')]),
    parent && !fullLevel ? Buffer.from(parent.manifest.contentHash, 'hex') : Buffer.alloc(32),
  );
  const manifest: SnapshotManifest = {
    format: 'chartvault-snapshot',
    version: FORMAT_VERSION,
    storeId,
    createdAt: now.toISOString(),
    sequence: fullLevel ? 1 : parent!.manifest.sequence + 1,
    parent: fullLevel ? null : parent!.name,
    afterVid: fullLevel ? 0 : afterVid,
    throughVid: point.vid,
    packs,
    versionsByType,
    resources: point.counts,
    contentHash: sha256(chain),
    tip: tipOf(store.versionsAfter(point.vid - 1, point.vid, 1)[0]),
    settings: input.settings,
    audit: {
      afterSeq: fullLevel ? 0 : afterSeq,
      throughSeq: point.auditSeq,
      hash: point.auditHash.toString('hex'),
      checkpointsThrough:
        point.checkpoints.at(-1)?.seq ?? (fullLevel ? 0 : (parentAudit?.checkpointsThrough ?? 0)),
      checkpoints: point.checkpoints.map((c) => c.line),
      keys: checkpointKeys,
    },
    records: records?.summary ?? null,
    ...(fullLevel && { full: { level: fullLevel, base: base?.name ?? null } }),
    fulls: parent ? fullsAsOf(parent) : {},
  };
  const sealed = sealObject(keys, 'snapshot', Buffer.from(JSON.stringify(manifest)));
  await put(objectPath('snapshot', sealed.name), sealed.bytes);
  return {
    name: sealed.name,
    unchanged: false,
    manifest,
    versions,
    auditEntries,
    objectsWritten,
    bytesWritten,
    seconds: seconds(),
  };
}

/**
 * The full snapshot a new full snapshot of `level` builds on: the newest of that level or coarser that
 * opens (undefined: none does, and the whole history is packed again).
 */
async function loadBase(
  target: BackupTarget,
  keys: BackupKeys,
  parent: ListedSnapshot,
  level: FullLevel,
): Promise<ListedSnapshot | undefined> {
  for (const name of baseCandidates(fullsAsOf(parent), level)) {
    const base = await loadSnapshot(target, keys, name);
    if (base?.manifest.full) return base;
  }
  return undefined;
}

/**
 * The store must be the one whose history the parent holds: its version at the parent's mark and its
 * audit entry at the parent's last seq are the ones backed up. A store restored from an older snapshot
 * has another future than the target's newer snapshots, and must never continue their chain.
 */
function checkContinues(
  store: SqliteStore,
  point: BackupPoint,
  parent: ListedSnapshot,
  target: BackupTarget,
): void {
  const m = parent.manifest;
  if (point.vid < m.throughVid || point.auditSeq < m.audit.throughSeq)
    throw new BackupError(
      `${target.description} holds snapshots newer than this store (up to version ${m.throughVid} and audit entry ` +
        `#${m.audit.throughSeq}; the store is at ${point.vid} and #${point.auditSeq}): is this a store restored from ` +
        'an older snapshot? Back it up to a new target folder.',
    );
  const another = () =>
    new BackupError(
      `${target.description} holds snapshots of another history of this store (its snapshot ${short(parent.name)} ` +
        'does not match this store: restored from an older snapshot?). Back it up to a new target folder.',
    );
  if (m.tip) {
    const tip = m.tip;
    const [same] = store.versionsAfter(tip.vid - 1, tip.vid, 1);
    const matches =
      same?.type === tip.type &&
      same.id === tip.id &&
      same.version === tip.version &&
      same.lastUpdated === tip.lastUpdated;
    if (!matches) throw another();
  }
  if (m.audit.throughSeq > 0 && store.auditHashAt(m.audit.throughSeq)?.toString('hex') !== m.audit.hash)
    throw another();
}

/** True when the entries after `afterSeq` are none, or only a few `backup` entries (runs recording themselves). */
function onlyBackupEntries(store: SqliteStore, afterSeq: number, throughSeq: number): boolean {
  if (throughSeq - afterSeq > BACKUP_ENTRIES_IGNORED) return false;
  return store
    .auditEntryTexts(afterSeq, throughSeq, BACKUP_ENTRIES_IGNORED)
    .every(([, entry]) => (JSON.parse(entry) as { action?: string }).action === 'backup');
}

function tipOf(v: RawVersion | undefined): SnapshotManifest['tip'] {
  return v ? { vid: v.vid, type: v.type, id: v.id, version: v.version, lastUpdated: v.lastUpdated } : null;
}

export { short };

/**
 * Objects being sealed and written, at most PIPELINE_DEPTH at once: compression runs in the thread
 * pool while the main thread reads on. A failure is thrown by `add` or `drain`, never lost.
 */
const PIPELINE_DEPTH = 3;

class SealPipeline {
  private readonly running: Promise<void>[] = [];

  /** Starts `work`; when PIPELINE_DEPTH are running, waits for the oldest first. */
  async add(work: Promise<void>): Promise<void> {
    // Handled here so that a failure while others run is not an unhandled rejection; awaited below.
    work.catch(() => undefined);
    this.running.push(work);
    if (this.running.length < PIPELINE_DEPTH) return;
    try {
      await this.running.shift();
    } catch (error) {
      // Nothing goes on writing once the snapshot has failed.
      await Promise.allSettled(this.running.splice(0));
      throw error;
    }
  }

  /** Waits for everything started; the first failure is thrown after all have settled. */
  async drain(): Promise<void> {
    const results = await Promise.allSettled(this.running.splice(0));
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }
}
