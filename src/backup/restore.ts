/**
 * Restore: a new store holding exactly what one snapshot holds (its whole chain replayed): every
 * resource version, the audit chain with its checkpoints, and the durable security records, made
 * from a target and the recovery kit alone. Everything is checked before the store counts as made:
 * each object authentic, each pack its manifest's, the chained content hash, the audit chain's hashes
 * from the first entry, each checkpoint's signature and hash, the records' digest, and the live counts
 * per type. Any failure removes the new data directory and the keys it wrote: never a partial restore.
 */
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { checkpointFilePath } from '../audit/checkpoints.ts';
import { writeEarlierAuditKeys, type EarlierAuditKey } from '../audit/signingKey.ts';
import {
  backupKeyFilePath,
  createBackupKey,
  createRestoredStore,
  loadBackupKey,
  type RawVersion,
  type RestoreSink,
} from '../store/index.ts';
import { auditPackMatchesManifest, parseAuditPack } from './auditPack.ts';
import { BackupError } from './backupError.ts';
import { deriveBackupKeys, type BackupKeys } from './backupKeys.ts';
import { checkCheckpoint, keysOfChain } from './checkpointCheck.ts';
import type { RecoveryKit } from './kitFile.ts';
import { parsePack, sha256 } from './packWriter.ts';
import { parseRecords } from './recordsObject.ts';
import { openRepository } from './repository.ts';
import { CorruptObject, objectPath, openObject } from './repositoryFormat.ts';
import {
  chainTo,
  findSnapshot,
  kindOf,
  loadSnapshots,
  newest,
  NO_AUDIT_HASH,
  recordsOf,
  short,
  type AuditPackEntry,
  type ListedSnapshot,
  type PackEntry,
  type VersionPackEntry,
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
  /** Audit entries restored (the chain from #1), and the checkpoints kept with them. */
  auditEntries: number;
  checkpoints: number;
  /** Security records restored (accounts, clients). */
  records: number;
  /** Key ids of the audit keys that signed the restored checkpoints (now "earlier keys"). */
  earlierAuditKeys: string[];
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
  const recordsObject = recordsOf(chain);
  if (tip.manifest.records && !recordsObject)
    throw new BackupError(
      `Snapshot ${short(tip.name)} cannot be restored: no snapshot of its chain lists its records.`,
    );
  for (const s of chain)
    for (const pack of s.manifest.packs) {
      const path = objectPath(kindOf(pack), pack.name);
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
    const replay = new ChainReplay(target, keys, kit.storeId, keysOfChain(chain), chain);
    await store.restoreBackup(async (sink) => {
      for (const s of chain) await replay.snapshot(s, sink);
      if (recordsObject) replay.records = await readRecords(target, keys, recordsObject, tip, sink);
    });
    const counts = await store.countByType();
    const expected = tip.manifest.resources;
    const types = new Set([...Object.keys(counts), ...Object.keys(expected)]);
    for (const type of types)
      if ((counts[type] ?? 0) !== (expected[type] ?? 0))
        throw new BackupError(
          `After restore there are ${counts[type] ?? 0} ${type} resources; the snapshot has ${expected[type] ?? 0}.`,
        );
    const head = await store.auditHead();
    if (head.seq !== tip.manifest.audit.throughSeq || head.hash.toString('hex') !== tip.manifest.audit.hash)
      throw new BackupError(
        `After restore the audit chain ends at #${head.seq}; the snapshot's ends at #${tip.manifest.audit.throughSeq}.`,
      );
    await store.optimize();
    await store.close();
    // The checkpoint file outside the database holds what the table holds, and the keys that signed
    // them are kept as earlier keys: the restored store signs with a new one (docs/audit-chain.md).
    if (replay.checkpointLines.length > 0) writeCheckpointFile(dataDir, replay.checkpointLines);
    if (replay.earlierKeys.length > 0) writeEarlierAuditKeys(dataDir, replay.earlierKeys);
    const resources = Object.values(counts).reduce((a, b) => a + b, 0);
    return {
      snapshot: tip,
      versions: replay.versions,
      resources,
      auditEntries: head.seq,
      checkpoints: replay.checkpointLines.length,
      records: replay.records,
      earlierAuditKeys: replay.earlierKeys.map((k) => k.keyId),
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

/** Replays a chain of snapshots into a restore sink, checking every link as it goes. */
class ChainReplay {
  versions = 0;
  records = 0;
  readonly checkpointLines: string[] = [];
  private contentHash: Buffer = Buffer.alloc(32);
  private auditSeq = 0;
  private auditHash = NO_AUDIT_HASH;
  private readonly signedUntil = new Map<string, number>();
  /** The seqs that checkpoints of the chain cover, and their hashes as the replay recomputes them. */
  private readonly wanted = new Set<number>();
  private readonly hashes = new Map<number, string>();

  constructor(
    private readonly target: BackupTarget,
    private readonly keys: BackupKeys,
    private readonly storeId: string,
    private readonly publicKeys: Map<string, string>,
    chain: ListedSnapshot[],
  ) {
    for (const s of chain)
      for (const text of s.manifest.audit.checkpoints) {
        const seq = (JSON.parse(text) as { seq?: unknown }).seq;
        if (typeof seq === 'number') this.wanted.add(seq);
      }
  }

  get earlierKeys(): EarlierAuditKey[] {
    return [...this.signedUntil]
      .filter(([keyId]) => this.publicKeys.has(keyId))
      .map(([keyId, until]) => ({ keyId, publicKey: this.publicKeys.get(keyId)!, until }));
  }

  async snapshot(s: ListedSnapshot, sink: RestoreSink): Promise<void> {
    const digests: Buffer[] = [this.contentHash];
    for (const pack of s.manifest.packs) {
      if (pack.kind === 'records') continue;
      const payload = await this.open(pack);
      if (pack.kind === 'audit') this.auditPack(pack, payload, sink);
      else {
        this.versionPack(pack, payload, sink);
        digests.push(Buffer.from(pack.sha256, 'hex'));
      }
    }
    this.contentHash = Buffer.from(sha256(Buffer.concat(digests)), 'hex');
    if (this.contentHash.toString('hex') !== s.manifest.contentHash)
      throw new BackupError(
        `Snapshot ${short(s.name)}: the restored content does not match its content hash.`,
      );
    if (this.auditSeq !== s.manifest.audit.throughSeq || this.auditHash !== s.manifest.audit.hash)
      throw new BackupError(
        `Snapshot ${short(s.name)}: the restored audit chain does not end where it says.`,
      );
    for (const text of s.manifest.audit.checkpoints) {
      const checked = checkCheckpoint(text, this.publicKeys, this.storeId, this.auditSeq);
      if (typeof checked === 'string') throw new BackupError(`Snapshot ${short(s.name)}: ${checked}.`);
      const { line } = checked;
      // (A checkpoint may cover an entry of an earlier increment: it was signed after that snapshot.)
      if (this.hashes.get(line.seq) !== line.hash)
        throw new BackupError(
          `Snapshot ${short(s.name)}: audit checkpoint #${line.seq} does not match the chain.`,
        );
      sink.auditCheckpoint(line.seq, text);
      this.checkpointLines.push(text);
      this.signedUntil.set(line.key, Math.max(this.signedUntil.get(line.key) ?? 0, line.seq));
    }
  }

  private async open(pack: PackEntry): Promise<Buffer> {
    const path = objectPath(pack.kind === 'audit' ? 'audit' : 'pack', pack.name);
    const bytes = await this.target.get(path);
    if (!bytes) throw new BackupError(`${this.target.description}/${path} is missing.`);
    const payload = openObject(
      this.keys,
      pack.kind === 'audit' ? 'audit' : 'pack',
      `${this.target.description}/${path}`,
      pack.name,
      bytes,
    );
    if (sha256(payload) !== pack.sha256) throw new CorruptObject(path, 'is not the pack its manifest names');
    return payload;
  }

  private versionPack(pack: VersionPackEntry, payload: Buffer, sink: RestoreSink): void {
    const path = objectPath('pack', pack.name);
    const { header, versions: rows } = parsePack(payload, path);
    if (header.firstVid !== pack.firstVid || header.lastVid !== pack.lastVid || header.count !== pack.count)
      throw new CorruptObject(path, 'holds other versions than its manifest says');
    sink.versions(rows as RawVersion[]);
    this.versions += rows.length;
  }

  private auditPack(pack: AuditPackEntry, payload: Buffer, sink: RestoreSink): void {
    const path = objectPath('audit', pack.name);
    const { header, entries, lastHash } = parseAuditPack(payload, path);
    if (!auditPackMatchesManifest({ header, lastHash }, pack))
      throw new CorruptObject(path, 'holds other audit entries than its manifest says');
    if (header.firstSeq !== this.auditSeq + 1 || header.previousHash !== this.auditHash)
      throw new CorruptObject(path, 'does not continue the audit chain restored so far');
    for (const { seq, entry, hash } of entries) {
      const stored = sink.auditEntry(seq, entry);
      if (!stored.equals(hash)) throw new CorruptObject(path, `audit entry #${seq} does not chain`);
      if (this.wanted.has(seq)) this.hashes.set(seq, hash.toString('hex'));
    }
    this.auditSeq = header.lastSeq;
    this.auditHash = lastHash;
  }
}

async function readRecords(
  target: BackupTarget,
  keys: BackupKeys,
  entry: PackEntry,
  tip: ListedSnapshot,
  sink: RestoreSink,
): Promise<number> {
  const path = objectPath('records', entry.name);
  const bytes = await target.get(path);
  if (!bytes) throw new BackupError(`${target.description}/${path} is missing.`);
  const payload = openObject(keys, 'records', `${target.description}/${path}`, entry.name, bytes);
  if (sha256(payload) !== entry.sha256 || entry.sha256 !== tip.manifest.records?.sha256)
    throw new CorruptObject(path, 'is not the records object its manifest names');
  const rows = parseRecords(payload, path);
  for (const row of rows) sink.record(row);
  return rows.length;
}

/** The restored checkpoint lines, written once and fsynced, as `audit-checkpoints.jsonl` holds them. */
function writeCheckpointFile(dataDir: string, lines: string[]): void {
  const fd = openSync(checkpointFilePath(dataDir), 'wx', 0o600);
  try {
    writeSync(fd, lines.map((line) => line + '\n').join(''));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
