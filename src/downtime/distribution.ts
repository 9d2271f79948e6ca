/**
 * Puts downtime files where staff will look for them. A file is written under a temporary name,
 * flushed and then renamed, so a reader never sees half a file. Each downtime location keeps the three
 * newest copies made with the current passphrase and loses everything else, so old copies of patient
 * data do not pile up and copies that an old passphrase opens disappear at the next export.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

export const COPIES_KEPT = 3;
const COPY_NAME = /^chartvault-downtime-(\d{8}-\d{6})Z-([0-9a-f]{8})\.html$/;
const TEMPORARY_NAME = /^\.chartvault-downtime-.*\.tmp$/;

export interface LocationResult {
  location: string;
  file?: string;
  removed: string[];
  error?: string;
}

/** A name that says when and with which key, and nothing about patients. */
export function copyName(asOf: Date, keyId: string): string {
  const stamp = asOf.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `chartvault-downtime-${stamp}Z-${keyId}.html`;
}

/**
 * Writes `text` to `path` atomically. The file is readable by all (0644): its contents are encrypted,
 * and staff on a downtime machine may reach the folder as another user.
 */
export function writeFileAtomically(path: string, text: string): void {
  const target = resolve(path);
  const temporary = join(dirname(target), `.${basename(target)}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(temporary, 'wx', 0o644);
  try {
    const bytes = Buffer.from(text, 'utf8');
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temporary, { force: true });
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(temporary, target);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
  syncDirectory(dirname(target));
}

/** Writes one copy to each location (a failing location does not stop the others), then prunes. */
export function distribute(text: string, locations: string[], name: string, keyId: string): LocationResult[] {
  return locations.map((location) => {
    const folder = resolve(location);
    const result: LocationResult = { location: folder, removed: [] };
    try {
      // A missing folder is not created: it may be a USB stick or share that is not mounted, and
      // creating it would leave patient data on the machine's own disk instead.
      if (!statSync(folder).isDirectory())
        throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
      const file = join(folder, name);
      writeFileAtomically(file, text);
      result.file = file;
      result.removed = prune(folder, keyId, name);
    } catch (error) {
      result.error = describeError(error, folder);
    }
    return result;
  });
}

/** Removes copies made with another key, all but the newest three made with this one, and stray temporaries. */
function prune(folder: string, keyId: string, justWritten: string): string[] {
  const removed: string[] = [];
  const current: string[] = [];
  for (const entry of readdirSync(folder)) {
    const match = COPY_NAME.exec(entry);
    if (match && match[2] === keyId) current.push(entry);
    else if (match || (TEMPORARY_NAME.test(entry) && isStale(join(folder, entry)))) {
      rmSync(join(folder, entry), { force: true });
      removed.push(entry);
    }
  }
  current.sort().reverse();
  for (const entry of current.slice(COPIES_KEPT)) {
    if (entry === justWritten) continue;
    rmSync(join(folder, entry), { force: true });
    removed.push(entry);
  }
  if (removed.length) syncDirectory(folder);
  return removed;
}

/** A temporary file left by an export that died; a recent one may belong to an export running now. */
function isStale(path: string): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs > 3_600_000;
  } catch {
    return false;
  }
}

/** The downtime copies in a folder, newest first. */
export function listCopies(folder: string): { file: string; madeAt: string; keyId: string }[] {
  return readdirSync(folder)
    .map((entry) => ({ entry, match: COPY_NAME.exec(entry) }))
    .filter((e) => e.match)
    .map(({ entry, match }) => {
      const s = match![1];
      const madeAt = `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(9, 11)}:${s.slice(11, 13)}:${s.slice(13, 15)}Z`;
      return { file: join(folder, entry), madeAt, keyId: match![2] };
    })
    .sort((a, b) => b.madeAt.localeCompare(a.madeAt));
}

function syncDirectory(folder: string): void {
  try {
    const fd = openSync(folder, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some file systems (network shares, FAT on some platforms) refuse fsync on a folder; the rename stands.
  }
}

export function describeError(error: unknown, path: string): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return `${path} does not exist (is the disk or share mounted?)`;
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS')
    return `cannot write in ${path} (${code}): give the ChartVault service account write access`;
  if (code === 'ENOTDIR') return `${path} is not a folder`;
  if (code === 'ENOSPC') return `${path} is full`;
  return `${path}: ${(error as Error).message}`;
}
