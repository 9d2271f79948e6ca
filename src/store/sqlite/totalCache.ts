/**
 * Remembers the totals of recent searches while the data stays the same. Counting every match of a
 * broad search costs more than its page at a million resources (Observations: about a second), and a
 * client paging through the results asks for the same total on every page. An entry is valid only for
 * the newest version id it was counted at: any write adds a version (a delete adds a tombstone), so
 * the total is recounted after any change, made by this process or another one.
 */
import type { Connection } from './connection.ts';

const MAX_ENTRIES = 256;

export class TotalCache {
  private readonly entries = new Map<string, { mark: number; total: number }>();
  private readonly newestVersion;

  constructor(db: Connection) {
    this.newestVersion = db.prepare<[], { mark: number | null }>(
      'SELECT max(vid) AS mark FROM resource_version',
    );
  }

  private mark(): number {
    return this.newestVersion.get()?.mark ?? 0;
  }

  /** The total of `sql` with `params` if it was counted since the last write; nothing is counted. */
  known(sql: string, params: unknown[]): number | undefined {
    const known = this.entries.get(`${sql}\u0000${JSON.stringify(params)}`);
    return known && known.mark === this.mark() ? known.total : undefined;
  }

  /** The total of the statement `sql` with `params`, counted by `count` unless known for the current data. */
  total(sql: string, params: unknown[], count: () => number): number {
    // The mark is read before counting: a write landing in between changes the mark, so a total
    // counted over newer data is never served as that of the older mark.
    const mark = this.mark();
    const key = `${sql}\u0000${JSON.stringify(params)}`;
    const known = this.entries.get(key);
    if (known && known.mark === mark) return known.total;
    const total = count();
    this.entries.delete(key); // re-inserted last: the Map's order is the eviction order
    this.entries.set(key, { mark, total });
    if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    return total;
  }
}
