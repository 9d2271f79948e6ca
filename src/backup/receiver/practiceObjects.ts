/**
 * One practice's objects on the receiver, under the directory target's write-once rules
 * (docs/backup-format.md, section 4): the body is streamed to a temporary name (so a 256 MiB object
 * never sits in memory), hashed, fsync'd, then hard-linked to its name, which fails when the name
 * exists: nothing is ever overwritten, even by racing requests. File systems without hard links fall
 * back to rename after an existence check. Names are checked by the caller (objectNames.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { link, mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { Readable } from 'node:stream';
import { syncFolder } from '../syncFolder.ts';

export class ObjectTooLarge extends Error {}
export class BodyMismatch extends Error {}

export type PutOutcome =
  | { outcome: 'written' | 'exists'; sha256: string; size: number }
  | { outcome: 'conflict'; sha256: string; size: number; existingSha256: string; existingSize: number };

export interface ObjectInfo {
  path: string;
  size: number;
  /** When the receiver stored it (its own clock; a client cannot set it). */
  storedAt: Date;
}

export class PracticeObjects {
  constructor(readonly root: string) {}

  async put(
    path: string,
    body: Readable,
    limits: { maxBytes: number; sha256?: string },
  ): Promise<PutOutcome> {
    const file = join(this.root, path);
    const folder = dirname(file);
    await mkdir(folder, { recursive: true, mode: 0o700 });
    const temporary = join(folder, `.tmp-${randomBytes(8).toString('hex')}`);
    const hash = createHash('sha256');
    let size = 0;
    const handle = await open(temporary, 'wx', 0o444);
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > limits.maxBytes) throw new ObjectTooLarge(`larger than ${limits.maxBytes} bytes`);
        hash.update(chunk);
        await handle.write(chunk);
      }
      await handle.sync();
    } catch (error) {
      await handle.close();
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
    await handle.close();
    const sha256 = hash.digest('hex');
    try {
      if (limits.sha256 !== undefined && limits.sha256 !== sha256)
        throw new BodyMismatch('the body does not match its x-content-sha256 (damaged in transit)');
      try {
        await link(temporary, file);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') return await this.compare(file, sha256, size);
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error;
        if (existsSync(file)) return await this.compare(file, sha256, size);
        await rename(temporary, file);
      }
      await syncFolder(folder);
      return { outcome: 'written', sha256, size };
    } finally {
      await unlink(temporary).catch(() => undefined);
    }
  }

  /** A stream of the object's bytes, or undefined when absent. */
  async open(path: string): Promise<{ size: number; stream: Readable } | undefined> {
    const size = await this.size(path);
    if (size === undefined) return undefined;
    return { size, stream: createReadStream(join(this.root, path)) };
  }

  async size(path: string): Promise<number | undefined> {
    try {
      return (await stat(join(this.root, path))).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** Every object (temporary files excluded), with its size and arrival time. */
  async all(): Promise<ObjectInfo[]> {
    if (!existsSync(this.root)) return [];
    const entries = await readdir(this.root, { recursive: true, withFileTypes: true });
    const files = entries
      .filter((e) => e.isFile() && !e.name.startsWith('.tmp-'))
      .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
    return Promise.all(
      files.map(async (file) => {
        const info = await stat(file);
        return {
          path: relative(this.root, file).split('\\').join('/'),
          size: info.size,
          storedAt: info.mtime,
        };
      }),
    );
  }

  async list(prefix: string): Promise<string[]> {
    return (await this.all()).map((o) => o.path).filter((p) => p.startsWith(prefix));
  }

  private async compare(file: string, sha256: string, size: number): Promise<PutOutcome> {
    const existingSize = (await stat(file)).size;
    const existingSha256 = await hashFile(file);
    if (existingSha256 === sha256 && existingSize === size) return { outcome: 'exists', sha256, size };
    return { outcome: 'conflict', sha256, size, existingSha256, existingSize };
  }
}

async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
