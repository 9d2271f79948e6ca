/**
 * Verify: every snapshot's manifest opens, its chain is unbroken, and every pack it needs is present
 * with the size the manifest recorded; with `readData`, every pack is also read, authenticated,
 * decrypted and checked against its manifest entry. Each problem names the object and the snapshots
 * that need it.
 */
import { deriveBackupKeys } from './backupKeys.ts';
import type { RecoveryKit } from './kitFile.ts';
import { parsePack, sha256 } from './packWriter.ts';
import { openRepository } from './repository.ts';
import { CorruptObject, nameOfPath, objectPath, openObject } from './repositoryFormat.ts';
import { chainTo, loadSnapshots, short, type PackEntry } from './snapshotManifest.ts';
import type { BackupTarget } from './target.ts';

export interface VerifyReport {
  snapshots: {
    name: string;
    createdAt: string;
    sequence: number;
    versions: number;
    resources: number;
    ok: boolean;
  }[];
  packsChecked: number;
  bytesRead: number;
  /** Packs no snapshot lists (left by an interrupted run): harmless, reported for information. */
  unreferencedPacks: number;
  problems: string[];
}

export async function verifyTarget(
  target: BackupTarget,
  kit: RecoveryKit,
  readData: boolean,
): Promise<VerifyReport> {
  const keys = deriveBackupKeys(kit.backupKey);
  await openRepository(target, keys, kit.storeId);
  const { snapshots, broken } = await loadSnapshots(target, keys);
  const problems = broken.map((b) => `snapshot ${b.path}: ${b.reason}`);
  const needs = new Map<string, { pack: PackEntry; snapshots: Set<string> }>();
  const chains = new Map<string, string[]>();
  for (const s of snapshots) {
    try {
      const chain = chainTo(snapshots, s);
      // The content hash chain follows from the manifests alone: each one's hash covers its parent's
      // and its packs' digests (backup-format.md section 7).
      const parentHash =
        chain.length > 1 ? Buffer.from(chain.at(-2)!.manifest.contentHash, 'hex') : Buffer.alloc(32);
      const digests = s.manifest.packs.map((p) => Buffer.from(p.sha256, 'hex'));
      if (sha256(Buffer.concat([parentHash, ...digests])) !== s.manifest.contentHash)
        throw new Error(
          `snapshot ${short(s.name)}: its content hash does not follow from its parent and packs`,
        );
      chains.set(
        s.name,
        chain.map((c) => c.name),
      );
    } catch (error) {
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
  let bytesRead = 0;
  for (const [name, { pack, snapshots: owners }] of needs) {
    const path = objectPath('pack', name);
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
    if (!readData) continue;
    try {
      const bytes = (await target.get(path))!;
      bytesRead += bytes.length;
      const payload = openObject(keys, 'pack', where, name, bytes);
      if (sha256(payload) !== pack.sha256)
        throw new CorruptObject(where, 'is not the pack its manifest names');
      const { header } = parsePack(payload, where);
      if (header.firstVid !== pack.firstVid || header.lastVid !== pack.lastVid || header.count !== pack.count)
        throw new CorruptObject(where, 'holds other versions than its manifest says');
    } catch (error) {
      if (error instanceof CorruptObject) fail(error.reason);
      else throw error;
    }
  }
  const listed = (await target.list('packs/')).filter((p) => nameOfPath('pack', p));
  const report: VerifyReport = {
    snapshots: snapshots.map((s) => ({
      name: s.name,
      createdAt: s.manifest.createdAt,
      sequence: s.manifest.sequence,
      versions: s.manifest.throughVid,
      resources: Object.values(s.manifest.resources).reduce((a, b) => a + b, 0),
      ok:
        chains.has(s.name) &&
        chains
          .get(s.name)!
          .every((n) =>
            snapshots.find((x) => x.name === n)!.manifest.packs.every((p) => !badPacks.has(p.name)),
          ),
    })),
    packsChecked: needs.size,
    bytesRead,
    unreferencedPacks: listed.filter((p) => !needs.has(nameOfPath('pack', p)!)).length,
    problems,
  };
  return report;
}
