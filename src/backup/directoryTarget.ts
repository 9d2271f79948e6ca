/**
 * A directory target (an external disk, a NAS share). Objects are written once: to a temporary name,
 * fsync'd, then hard-linked to their name (link fails when the name exists, so nothing is ever
 * overwritten, even by a racing writer), and the folder fsync'd. File systems without hard links
 * (FAT, exFAT) fall back to rename after a check. Temporary names start with `.tmp-` and are never
 * listed: a run killed mid-write leaves at most such a file, never a half object under a real name.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { StoredObject } from './retention.ts';
import { syncFolder } from './syncFolder.ts';
import { TargetConflict, type BackupTarget } from './target.ts';

export class DirectoryTarget implements BackupTarget {
  readonly root: string;
  readonly description: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.description = this.root;
  }

  async putIfAbsent(path: string, bytes: Buffer): Promise<'written' | 'exists'> {
    const file = this.file(path);
    const existing = await this.get(path);
    if (existing) return sameOrConflict(existing, bytes, file);
    const folder = dirname(file);
    await mkdir(folder, { recursive: true });
    const temporary = join(folder, `.tmp-${randomBytes(8).toString('hex')}`);
    const handle = await open(temporary, 'wx', 0o444);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } catch (error) {
      // A half-written temporary file (a full disk) would only take more of the space that is missing.
      await handle.close().catch(() => undefined);
      await unlink(temporary).catch(() => undefined);
      throw this.named(error);
    }
    await handle.close();
    try {
      await link(temporary, file);
      await unlink(temporary);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        await unlink(temporary);
        return sameOrConflict((await this.get(path))!, bytes, file);
      }
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error;
      if (existsSync(file)) {
        await unlink(temporary);
        return sameOrConflict((await this.get(path))!, bytes, file);
      }
      await rename(temporary, file);
    }
    await syncFolder(folder);
    return 'written';
  }

  /** A disk error names this target, so that with several targets the message says which one failed. */
  private named(error: unknown): unknown {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'ENOSPC' || e.code === 'EDQUOT') e.message = `${this.root}: ${e.message}`;
    return error;
  }

  async get(path: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.file(path));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async size(path: string): Promise<number | undefined> {
    try {
      return (await stat(this.file(path))).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async list(folder: string): Promise<string[]> {
    const base = this.file(folder.replace(/\/+$/, ''));
    if (!existsSync(base)) return [];
    const entries = await readdir(base, { recursive: true, withFileTypes: true });
    return entries
      .filter((e) => e.isFile() && !e.name.startsWith('.tmp-'))
      .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name))
      .map((file) =>
        file
          .slice(this.root.length + 1)
          .split('\\')
          .join('/'),
      );
  }

  /** With the time each file was written (its modification time: files are never changed). */
  async listStored(folder: string): Promise<StoredObject[]> {
    const stored: StoredObject[] = [];
    for (const path of await this.list(folder)) {
      const info = await stat(this.file(path)).catch(() => undefined);
      if (info) stored.push({ path, size: info.size, storedAt: info.mtime });
    }
    return stored;
  }

  /** Retention only (prune.ts): nothing else ever removes an object. */
  async remove(path: string): Promise<'removed'> {
    const file = this.file(path);
    await unlink(file).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    await syncFolder(dirname(file));
    return 'removed';
  }

  private file(path: string): string {
    if (path.split('/').some((part) => part === '..' || part === ''))
      throw new Error(`bad object path ${path}`);
    return join(this.root, path);
  }
}

function sameOrConflict(existing: Buffer, bytes: Buffer, file: string): 'exists' {
  if (existing.equals(bytes)) return 'exists';
  throw new TargetConflict(
    `${file} already exists with other content; it was not overwritten. The target may have been tampered with: run chartvault backup verify.`,
  );
}
