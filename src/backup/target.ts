/**
 * What a backup target must do: store objects that are written once and never changed. Directory
 * targets now; the append-only receiver and S3 with Object Lock implement the same four calls.
 */
import type { BackupKeys } from './backupKeys.ts';
import type { StoredObject } from './retention.ts';

export interface BackupTarget {
  /** Where it is, for messages (no secrets). */
  readonly description: string;
  /**
   * Writes `bytes` under `path` unless an object is there: 'written', or 'exists' when the same bytes
   * are already there. Another content under the name is an error (TargetConflict), never overwritten.
   */
  putIfAbsent(path: string, bytes: Buffer): Promise<'written' | 'exists'>;
  /** The object's bytes, or undefined when absent. */
  get(path: string): Promise<Buffer | undefined>;
  /** Its size in bytes, or undefined when absent. */
  size(path: string): Promise<number | undefined>;
  /** The paths of the objects under a folder (`packs/`, `snapshots/`), in no set order. */
  list(folder: string): Promise<string[]>;
  /**
   * Optional: called by a backup run after it wrote snapshot `snapshot` (S3 keeps the objects that
   * snapshot's chain needs locked, s3Retention.ts). A failure fails the run.
   */
  afterSnapshot?(snapshot: string, keys: BackupKeys): Promise<void>;
  /**
   * Only on targets that allow deletion (retention, prune.ts): the objects under a folder with their
   * sizes and when the target stored them.
   */
  listStored?(folder: string): Promise<StoredObject[]>;
  /** Removes an object: 'locked' when the target still holds it under a retention lock. */
  remove?(path: string): Promise<'removed' | 'locked'>;
}

export class TargetConflict extends Error {}
