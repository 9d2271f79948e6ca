/**
 * One chart brought back: a patient's record as a snapshot holds it (the newest one, one taken at or
 * before a time, or a named one) written into the live store as new versions, so that nothing of the
 * present is lost (every overwritten version stays in the history) and the rest of the practice is
 * untouched. The snapshot is restored into a throw-away store first, with every check a restore makes.
 * Resources of the chart that the snapshot does not hold (made after it) are listed, not removed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { patientCompartment } from '../fhir/definitions.ts';
import type { Resource } from '../fhir/types.ts';
import { openStore, type AuditAgent, type StoreOperations } from '../store/index.ts';
import { deriveBackupKeys } from './backupKeys.ts';
import { BackupError } from './backupError.ts';
import type { RecoveryKit } from './kitFile.ts';
import { restoreSnapshot } from './restore.ts';
import { loadSnapshots, type ListedSnapshot } from './snapshotManifest.ts';
import type { BackupTarget } from './target.ts';

export interface PatientRestoreInput {
  target: BackupTarget;
  kit: RecoveryKit;
  live: StoreOperations & { transaction<T>(work: (tx: StoreOperations) => Promise<T>): Promise<T> };
  patientId: string;
  /** The newest snapshot taken at or before this time; the newest of all when absent. */
  at?: Date;
  snapshot?: string;
  agent: AuditAgent;
  /** Only say what would change. */
  dryRun?: boolean;
}

export interface PatientRestoreResult {
  snapshot: ListedSnapshot;
  /** `Type/id` written back as new versions (changed since, deleted since, or missing). */
  restored: string[];
  unchanged: number;
  /** `Type/id` of the chart now that the snapshot does not hold: kept as they are. */
  newer: string[];
}

/** The newest snapshot taken at or before `at`, by its recorded time. */
export async function snapshotAt(target: BackupTarget, kit: RecoveryKit, at: Date): Promise<ListedSnapshot> {
  const { snapshots } = await loadSnapshots(target, deriveBackupKeys(kit.backupKey));
  const before = snapshots.filter((s) => Date.parse(s.manifest.createdAt) <= at.getTime());
  const chosen = before.at(-1);
  if (!chosen)
    throw new BackupError(
      `${target.description} holds no snapshot taken at or before ${at.toISOString()}` +
        (snapshots[0] ? `; the oldest was taken ${snapshots[0].manifest.createdAt}.` : '.'),
    );
  return chosen;
}

export async function restorePatient(input: PatientRestoreInput): Promise<PatientRestoreResult> {
  const snapshot = input.at ? (await snapshotAt(input.target, input.kit, input.at)).name : input.snapshot;
  const folder = mkdtempSync(join(tmpdir(), 'chartvault-chart-restore-'));
  try {
    const restored = await restoreSnapshot({
      target: input.target,
      kit: input.kit,
      dataDir: join(folder, 'data'),
      keyDir: join(folder, 'keys'),
      snapshot,
    });
    const scratch = openStore(join(folder, 'data'), join(folder, 'keys'));
    let then: Resource[];
    try {
      then = await chartOf(scratch.store, input.patientId);
    } finally {
      await scratch.store.close();
    }
    if (then.length === 0)
      throw new BackupError(
        `Snapshot ${restored.snapshot.name.slice(0, 12)} (taken ${restored.snapshot.manifest.createdAt}) holds no Patient/${input.patientId}.`,
      );
    const result = await input.live.transaction(async (tx) => {
      const now = await chartOf(tx, input.patientId);
      const thenKeys = new Set(then.map(keyOf));
      const changed: Resource[] = [];
      let unchanged = 0;
      for (const resource of then) {
        const current = await currentOf(tx, resource);
        if (current && sameContent(current, resource)) unchanged++;
        else changed.push(resource);
      }
      if (!input.dryRun)
        for (const resource of changed)
          await tx.update(stripMeta(resource), {
            audit: {
              agent: input.agent,
              detail: { via: 'restore-patient', snapshot: restored.snapshot.name },
            },
          });
      return {
        restored: changed.map(keyOf),
        unchanged,
        newer: now.map(keyOf).filter((k) => !thenKeys.has(k)),
      };
    });
    return { snapshot: restored.snapshot, ...result };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/** The patient and every resource of its compartment (as `$everything` gathers them). */
async function chartOf(ops: StoreOperations, patientId: string): Promise<Resource[]> {
  const chart = new Map<string, Resource>();
  try {
    const patient = await ops.read('Patient', patientId);
    chart.set(keyOf(patient), patient);
  } catch {
    // deleted or never there: the compartment may still hold resources
  }
  for (const { code: type, param } of patientCompartment().resource) {
    for (const code of param ?? []) {
      if (code === '{def}') continue;
      const { resources } = await ops.search({
        types: [type],
        criteria: [{ kind: 'reference', code, values: [`Patient/${patientId}`] }],
        sort: [],
        count: 100_000,
        offset: 0,
        total: 'none',
      });
      for (const r of resources) chart.set(keyOf(r), r);
    }
  }
  return [...chart.values()];
}

async function currentOf(ops: StoreOperations, resource: Resource): Promise<Resource | undefined> {
  try {
    return await ops.read(resource.resourceType, resource.id!);
  } catch {
    return undefined; // deleted (410) or unknown (404): it comes back as a new version
  }
}

const keyOf = (r: Resource) => `${r.resourceType}/${r.id}`;

function stripMeta(resource: Resource): Resource {
  const meta = { ...(resource.meta as Record<string, unknown> | undefined) };
  delete meta.versionId;
  delete meta.lastUpdated;
  return { ...resource, meta } as Resource;
}

function sameContent(a: Resource, b: Resource): boolean {
  return JSON.stringify(stripMeta(a)) === JSON.stringify(stripMeta(b));
}
