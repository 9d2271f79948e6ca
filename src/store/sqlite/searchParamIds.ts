/**
 * Search parameters are stored by a small integer id (pid) per resource type and code, to keep index rows
 * short. The mapping is append-only, so caching it is safe even when another process adds entries:
 * a cache miss just asks the database again.
 */
import type { Connection } from './connection.ts';

export class SearchParamIds {
  private readonly cache = new Map<string, number>();
  private readonly select;
  private readonly insert;

  constructor(db: Connection) {
    this.select = db.prepare<[string, string], { pid: number }>(
      'SELECT pid FROM search_param WHERE type = ? AND code = ?',
    );
    this.insert = db.prepare('INSERT OR IGNORE INTO search_param (type, code) VALUES (?, ?)');
  }

  /** The pid of an existing parameter, or undefined when nothing was ever indexed under it. */
  find(type: string, code: string): number | undefined {
    const key = `${type}\u0000${code}`;
    let pid = this.cache.get(key);
    if (pid === undefined) {
      pid = this.select.get(type, code)?.pid;
      if (pid !== undefined) this.cache.set(key, pid);
    }
    return pid;
  }

  /** The pid, created when missing (writers only). */
  ensure(type: string, code: string): number {
    const found = this.find(type, code);
    if (found !== undefined) return found;
    this.insert.run(type, code);
    return this.find(type, code)!;
  }
}
