/**
 * What key rotations need before they touch a store: sole access to the database (no `serve`, import
 * or backup has it open) and a lock file so that two rotations of the same key never run together.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Connection } from '../store/sqlite/connection.ts';
import { CliError } from './main.ts';

/**
 * Leaving WAL mode needs every other connection closed, so it doubles as the check that no `serve`,
 * import or backup has the store open; without waiting, so a running server gives an answer at once.
 * The connection is left in rollback-journal mode: the caller puts WAL back when it is done.
 */
export function takeSoleAccess(db: Connection, dataDir: string): void {
  db.pragma('busy_timeout = 0');
  let mode: unknown;
  try {
    mode = db.pragma('journal_mode = DELETE', { simple: true });
  } catch (error) {
    if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error;
  }
  if (mode !== 'delete') {
    throw new CliError(
      `The store in ${resolve(dataDir)} is in use (is chartvault serve running?); stop it, then run this again.`,
    );
  }
}

/**
 * An exclusive lock file `<keyDir>/<name>` naming its process; one left by a process that died is
 * taken over. Returns its release. `what` names the work in the message ("A data key rotation").
 */
export function acquireLockFile(keyDir: string, name: string, what: string): () => void {
  const file = join(resolve(keyDir), name);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (isRunning(pid)) {
        throw new CliError(
          `${what} is running (process ${pid}); wait for it to finish. If no chartvault process is running, remove ${file}.`,
        );
      }
      rmSync(file, { force: true });
    }
  }
  throw new CliError(`Could not take the lock ${file}; remove it if no chartvault process is running.`);
}

function isRunning(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
}
