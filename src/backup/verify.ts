/**
 * Verify: every snapshot's manifest opens, its chain is unbroken (resource versions, audit entries and
 * records alike), its audit checkpoints are this store's and signed, and every object it needs is
 * present with the size the manifest recorded; with `readData`, every object is also read,
 * authenticated, decrypted and checked against its manifest entry: version packs by their header,
 * audit packs by recomputing the chain's hashes from the link before them, the records object by its
 * content. Each problem names the object and the snapshots that need it.
 */
import { auditPackMatchesManifest, parseAuditPack } from './auditPack.ts';
import { deriveBackupKeys } from './backupKeys.ts';
import { checkCheckpoint, keysOfChain } from './checkpointCheck.ts';
import type { RecoveryKit } from './kitFile.ts';
import { scanPack, sha256 } from './packWriter.ts';
import { parseRecords } from './recordsObject.ts';
import { openRepository } from './repository.ts';
import { CorruptObject, nameOfPath, objectPath, openObject } from './repositoryFormat.ts';
import {
  chainTo,
  kindOf,
  loadSnapshots,
  short,
  versionPacks,
  type ListedSnapshot,
  type PackEntry,
} from './snapshotManifest.ts';
import type { BackupTarget } from './target.ts';

export interface VerifyReport {
  snapshots: {
    name: string;
    createdAt: string;
    sequence: number;
    versions: number;
    resources: number;
    /** Audit entries up to this snapshot (the chain's length), and security records held. */
    auditEntries: number;
    records: number;
    ok: boolean;
  }[];
  packsChecked: number;
  /** Packs read and decrypted (all of them with readData, tonight's share with a sample). */
  packsRead: number;
  bytesRead: number;
  /** Packs no snapshot lists (left by an interrupted run): harmless, reported for information. */
  unreferencedPacks: number;
  /** Checkpoints whose signing key no manifest holds (their signature could not be checked). */
  uncheckedCheckpoints: number;
  problems: string[];
}

/**
 * One night's share of the packs, for `--read-data --sample`: the packs whose name (a keyed hash, so
 * uniformly spread) falls in tonight's slot of `nights`; over `nights` consecutive nights every pack is
 * read once, and each night reads about 1/nights of the bytes (docs/operations/backup.md, egress).
 */
export interface ReadSample {
  nights: number;
  night: number;
}

export function nightlySample(percent: number, now = Date.now()): ReadSample {
  const nights = Math.max(1, Math.round(100 / percent));
  return { nights, night: Math.floor(now / 86_400_000) % nights };
}

const inSample = (sample: ReadSample, name: string) =>
  Number.parseInt(name.slice(0, 8), 16) % sample.nights === sample.night;

export async function verifyTarget(
  target: BackupTarget,
  kit: RecoveryKit,
  readData: boolean,
  sample?: ReadSample,
): Promise<VerifyReport> {
  const keys = deriveBackupKeys(kit.backupKey);
  await openRepository(target, keys, kit.storeId);
  const { snapshots, broken } = await loadSnapshots(target, keys);
  const problems = broken.map((b) => `snapshot ${b.path}: ${b.reason}`);
  const needs = new Map<string, { pack: PackEntry; snapshots: Set<string> }>();
  const chains = new Map<string, string[]>();
  const badSnapshots = new Set<string>();
  /** Checkpoints to compare with the recomputed chain: seq -> the hashes they claim, and where. */
  const claims = new Map<number, { hash: string; snapshot: string }[]>();
  let uncheckedCheckpoints = 0;
  for (const s of snapshots) {
    try {
      const chain = chainTo(snapshots, s);
      // The content hash chain follows from the manifests alone: each one's hash covers its parent's
      // and its version packs' digests (backup-format.md section 7).
      const parentHash =
        chain.length > 1 ? Buffer.from(chain.at(-2)!.manifest.contentHash, 'hex') : Buffer.alloc(32);
      const digests = versionPacks(s.manifest).map((p) => Buffer.from(p.sha256, 'hex'));
      if (sha256(Buffer.concat([parentHash, ...digests])) !== s.manifest.contentHash)
        throw new Error(
          `snapshot ${short(s.name)}: its content hash does not follow from its parent and packs`,
        );
      uncheckedCheckpoints += checkCheckpoints(s, chain, kit.storeId, claims);
      chains.set(
        s.name,
        chain.map((c) => c.name),
      );
    } catch (error) {
      badSnapshots.add(s.name);
      problems.push((error as Error).message);
    }
    for (const pack of s.manifest.packs) {
      const need = needs.get(pack.name) ?? { pack, snapshots: new Set() };
      need.snapshots.add(s.name);
      needs.set(pack.name, need);
    }
  }
  // A pack is needed by its snapshot and by every later snapshot whose chain passes through it.
  const dependents = (owner: Set<string>) =>
    [...chains].filter(([, chain]) => chain.some((n) => owner.has(n))).map(([n]) => short(n));
  const badPacks = new Set<string>();
  const recomputed = new Map<number, string>();
  let bytesRead = 0;
  let packsRead = 0;
  for (const [name, { pack, snapshots: owners }] of needs) {
    const path = objectPath(kindOf(pack), name);
    const where = `${target.description}/${path}`;
    const size = await target.size(path);
    const fail = (reason: string) => {
      badPacks.add(name);
      problems.push(`${where}: ${reason} (needed by snapshots ${dependents(owners).join(', ')})`);
    };
    if (size === undefined) {
      fail('missing');
      continue;
    }
    if (size !== pack.size) {
      fail(`is ${size} bytes, its manifest says ${pack.size} (truncated or altered)`);
      continue;
    }
    if (!readData || (sample && !inSample(sample, name))) continue;
    try {
      const bytes = (await target.get(path))!;
      packsRead++;
      bytesRead += bytes.length;
      const payload = openObject(keys, kindOf(pack), where, name, bytes);
      if (sha256(payload) !== pack.sha256)
        throw new CorruptObject(where, 'is not the object its manifest names');
      checkContent(pack, payload, where, claims, recomputed);
    } catch (error) {
      if (error instanceof CorruptObject) fail(error.reason);
      else throw error;
    }
  }
  // Each checkpoint against the hash its entry has (when the pack holding it was read and sound).
  for (const [seq, list] of claims)
    for (const claim of list) {
      const hash = recomputed.get(seq);
      if (hash !== undefined && hash !== claim.hash) {
        badSnapshots.add(claim.snapshot);
        problems.push(
          `snapshot ${short(claim.snapshot)}: audit checkpoint #${seq} does not match the audit chain`,
        );
      }
    }
  const listed = (await target.list('packs/')).filter((p) => nameOfPath('pack', p));
  const byName = new Map(snapshots.map((s) => [s.name, s]));
  const report: VerifyReport = {
    snapshots: snapshots.map((s) => ({
      name: s.name,
      createdAt: s.manifest.createdAt,
      sequence: s.manifest.sequence,
      versions: s.manifest.throughVid,
      resources: Object.values(s.manifest.resources).reduce((a, b) => a + b, 0),
      auditEntries: s.manifest.audit.throughSeq,
      records: s.manifest.records?.count ?? 0,
      ok:
        chains.has(s.name) &&
        chains
          .get(s.name)!
          .every(
            (n) => !badSnapshots.has(n) && byName.get(n)!.manifest.packs.every((p) => !badPacks.has(p.name)),
          ),
    })),
    packsChecked: needs.size,
    packsRead,
    bytesRead,
    unreferencedPacks: listed.filter((p) => !needs.has(nameOfPath('pack', p)!)).length,
    uncheckedCheckpoints,
    problems,
  };
  return report;
}

/** A snapshot's checkpoint lines checked against the keys of its chain; returns how many had no key. */
function checkCheckpoints(
  s: ListedSnapshot,
  chain: ListedSnapshot[],
  storeId: string,
  claims: Map<number, { hash: string; snapshot: string }[]>,
): number {
  const keys = keysOfChain(chain);
  let unchecked = 0;
  for (const text of s.manifest.audit.checkpoints) {
    const checked = checkCheckpoint(text, keys, storeId, s.manifest.audit.throughSeq);
    if (typeof checked === 'string') throw new Error(`snapshot ${short(s.name)}: ${checked}`);
    if (!checked.signed) unchecked++;
    const list = claims.get(checked.line.seq) ?? [];
    list.push({ hash: checked.line.hash, snapshot: s.name });
    claims.set(checked.line.seq, list);
  }
  return unchecked;
}

/** The opened payload of a pack of any kind against its manifest entry. */
function checkContent(
  pack: PackEntry,
  payload: Buffer,
  where: string,
  claims: Map<number, unknown>,
  recomputed: Map<number, string>,
): void {
  if (pack.kind === 'records') {
    if (parseRecords(payload, where).length !== pack.count)
      throw new CorruptObject(where, 'holds other records than its manifest says');
    return;
  }
  if (pack.kind === 'audit') {
    // Recomputed from the link before it, which the manifests chain from the parent's last hash.
    const { header, entries, lastHash } = parseAuditPack(payload, where);
    if (!auditPackMatchesManifest({ header, lastHash }, pack))
      throw new CorruptObject(
        where,
        'holds other audit entries than its manifest says (or they do not chain)',
      );
    for (const { seq, hash } of entries) if (claims.has(seq)) recomputed.set(seq, hash.toString('hex'));
    return;
  }
  const header = scanPack(payload, where);
  if (header.firstVid !== pack.firstVid || header.lastVid !== pack.lastVid || header.count !== pack.count)
    throw new CorruptObject(where, 'holds other versions than its manifest says');
}
