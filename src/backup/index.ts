/** Backups: encrypted, incremental, write-once snapshots of the store (format: docs/backup-format.md). */
export { BackupError } from './backupError.ts';
export { deriveBackupKeys, type BackupKeys } from './backupKeys.ts';
export { acquireBackupLock } from './backupLock.ts';
export { runBackup, type BackupRunInput } from './backupRun.ts';
export {
  DEFAULT_SCHEDULE,
  isClock,
  readBackupSchedule,
  writeBackupSchedule,
  type BackupSchedule,
} from './backupSchedule.ts';
export { startScheduledBackups, localClock } from './scheduledBackups.ts';
export { lastSnapshotIn, rememberSnapshot, targetRuns, type TargetRun } from './backupState.ts';
export { backupStatus, MAX_AGE_HOURS, type BackupStatus, type TargetStatus } from './backupStatus.ts';
export { diskOf, type DiskInfo } from './removableDisk.ts';
export { DirectoryTarget } from './directoryTarget.ts';
export { readDrills, recordDrill, runDrill, DRILL_LOG, type DrillRecord } from './drill.ts';
export { parseKit, renderKit, kitLines, type RecoveryKit } from './kitFile.ts';
export { FORMAT_VERSION } from './repositoryFormat.ts';
export { describePrune, pruneTarget, runPrune, type TargetPruneReport } from './prune.ts';
export {
  DEFAULT_RETENTION,
  describeRetention,
  keptSnapshots,
  parseRetention,
  type RetentionPolicy,
} from './retention.ts';
export { restoreSnapshot, type RestoreResult } from './restore.ts';
export { restorePatient, snapshotAt, type PatientRestoreResult } from './patientRestore.ts';
export { short as shortId } from './snapshotManifest.ts';
export { takeSnapshot, type SnapshotResult } from './snapshotWriter.ts';
export { TargetConflict, type BackupTarget } from './target.ts';
export { verifyTarget, type VerifyReport } from './verify.ts';
