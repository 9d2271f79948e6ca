/**
 * The version log as backups see it: every row of `resource_version` in vid order, with the stored JSON
 * text as it is (never parsed and re-serialized, so a restore gives back the same bytes), and the
 * reverse: putting versions back exactly as given (same vid, versionId, lastUpdated, tombstones) and
 * indexing each resource's newest version with the store's own index code.
 *
 * vid is assigned inside the single write transaction as max(vid) + 1, so vids grow in commit order:
 * everything at or below a mark read in one read transaction is final, and "the versions after the
 * last backup's mark" is exactly what changed since.
 */
import { extractIndexEntries } from '../../fhir/indexExtraction.ts';
import type { Resource } from '../../fhir/types.ts';
import type { WriteMethod } from '../types.ts';
import type { Connection } from './connection.ts';
import { IndexWriter, toIndexRows } from './indexWriter.ts';
import { SearchParamIds } from './searchParamIds.ts';

/** One stored version, raw. `body` is the stored JSON text, or null for a delete (tombstone). */
export interface RawVersion {
  vid: number;
  type: string;
  id: string;
  version: number;
  /** Epoch milliseconds. */
  lastUpdated: number;
  method: WriteMethod;
  body: string | null;
}

/** The newest vid and the live (not deleted) resource count per type, read together. */
export interface VersionMark {
  vid: number;
  counts: Record<string, number>;
}

export function readVersionMark(db: Connection): VersionMark {
  // One read transaction: the counts are those of the store at exactly `vid`.
  return db.transaction(() => {
    const vid = (
      db.prepare('SELECT ifnull(max(vid), 0) AS vid FROM resource_version').get() as { vid: number }
    ).vid;
    const rows = db
      .prepare('SELECT type, count(*) AS n FROM resource WHERE deleted = 0 GROUP BY type ORDER BY type')
      .all() as { type: string; n: number }[];
    return { vid, counts: Object.fromEntries(rows.map((r) => [r.type, r.n])) };
  })();
}

/** Versions with afterVid < vid <= throughVid, in vid order, at most `limit`. */
export function readVersionsAfter(
  db: Connection,
  afterVid: number,
  throughVid: number,
  limit: number,
): RawVersion[] {
  return db
    .prepare(
      `SELECT v.vid, r.type, r.id, v.version, v.last_updated AS lastUpdated, v.method, v.body
       FROM resource_version v JOIN resource r ON r.rid = v.rid
       WHERE v.vid > ? AND v.vid <= ? ORDER BY v.vid LIMIT ?`,
    )
    .all(afterVid, throughVid, limit) as RawVersion[];
}

/**
 * Appends versions exactly as given, in one transaction the caller runs. Each must come after every
 * version already stored (restore replays the log in order into a new store), and each resource's
 * versions must continue its own numbering. Only the newest version of each resource is indexed.
 */
export class VersionReplayer {
  private readonly indexWriter: IndexWriter;
  private readonly statements;

  constructor(db: Connection) {
    this.indexWriter = new IndexWriter(db, new SearchParamIds(db));
    this.statements = {
      current: db.prepare<[string, string], { rid: number; version: number; deleted: number }>(
        'SELECT rid, version, deleted FROM resource WHERE type = ? AND id = ?',
      ),
      maxVid: db.prepare<[], { vid: number }>('SELECT ifnull(max(vid), 0) AS vid FROM resource_version'),
      insertResource: db.prepare<[string, string, number, number, number, number], { rid: number }>(
        'INSERT INTO resource (type, id, version, vid, last_updated, deleted) VALUES (?, ?, ?, ?, ?, ?) RETURNING rid',
      ),
      pointResource: db.prepare(
        'UPDATE resource SET version = ?, vid = ?, last_updated = ?, deleted = ? WHERE rid = ?',
      ),
      insertVersion: db.prepare(
        'INSERT INTO resource_version (vid, rid, version, last_updated, method, body) VALUES (?, ?, ?, ?, ?, ?)',
      ),
    };
  }

  append(versions: RawVersion[]): void {
    let last = this.statements.maxVid.get()!.vid;
    const newest = new Map<number, RawVersion>();
    for (const v of versions) {
      if (!(v.vid > last)) throw new Error(`version log out of order at vid ${v.vid}`);
      last = v.vid;
      const deleted = v.body === null ? 1 : 0;
      const current = this.statements.current.get(v.type, v.id);
      if ((current?.version ?? 0) + 1 !== v.version)
        throw new Error(`version ${v.version} of a ${v.type} does not follow the stored one (vid ${v.vid})`);
      let rid: number;
      if (current) {
        rid = current.rid;
        this.statements.pointResource.run(v.version, v.vid, v.lastUpdated, deleted, rid);
      } else {
        rid = this.statements.insertResource.get(v.type, v.id, v.version, v.vid, v.lastUpdated, deleted)!.rid;
      }
      this.statements.insertVersion.run(v.vid, rid, v.version, v.lastUpdated, v.method, v.body);
      newest.set(rid, v);
    }
    for (const [rid, v] of newest) {
      this.indexWriter.remove(rid);
      if (v.body !== null)
        this.indexWriter.write(rid, v.type, toIndexRows(extractIndexEntries(JSON.parse(v.body) as Resource)));
    }
  }
}
