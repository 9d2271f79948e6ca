/**
 * One backup at a time per store: a lock file in the data directory holding the process id. A lock
 * left by a process that no longer runs (killed, power cut) is taken over.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BackupError } from './backupError.ts';

const LOCK_FILE = 'backup.lock';

/** Another process holds the store's backup lock (a run, a prune): the schedule skips its turn. */
export class BackupLockBusy extends BackupError {}

export function acquireBackupLock(dataDir: string): () => void {
  const file = join(resolve(dataDir), LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && isRunning(pid))
        throw new BackupLockBusy(
          `Another backup of this store is running (process ${pid}); wait for it to finish. (Lock: ${file})`,
        );
      rmSync(file, { force: true }); // stale: its process is gone
    }
  }
  throw new BackupError(`Could not take the backup lock ${file}; try again.`);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
