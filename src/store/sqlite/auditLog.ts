/**
 * The audit chain's tables (docs/audit-chain.md, section 3) and the synchronous appends and reads on one
 * connection. Appends run inside the caller's write transaction, so an entry commits with the change it
 * records, and the chain link is read and extended under SQLite's single writer lock.
 */
import {
  AUDIT_FORMAT_VERSION,
  canonicalJson,
  entryTimeText,
  GENESIS_HASH,
  linkHash,
} from '../../audit/chainFormat.ts';
import { patientIdsInJson } from '../../audit/patientLinks.ts';
import type {
  AuditAppended,
  AuditContext,
  AuditEntryDraft,
  AuditQuery,
  AuditRecord,
  WriteMethod,
} from '../types.ts';
import type { Connection } from './connection.ts';

const AUDIT_SQL = `
CREATE TABLE IF NOT EXISTS audit_entry (
  seq INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  entry TEXT NOT NULL,
  hash BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_entry_time ON audit_entry (time);
CREATE TABLE IF NOT EXISTS audit_patient (
  patient TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (patient, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit_patient_indexed (
  only INTEGER PRIMARY KEY CHECK (only = 1),
  seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_checkpoint (
  seq INTEGER PRIMARY KEY,
  line TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_entry_no_update BEFORE UPDATE ON audit_entry
  BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_entry_no_delete BEFORE DELETE ON audit_entry
  BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_checkpoint_no_update BEFORE UPDATE ON audit_checkpoint
  BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_checkpoint_no_delete BEFORE DELETE ON audit_checkpoint
  BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
`;

/** Creates the audit tables when absent (stores made before the audit trail get them on first open). */
export function createAuditTables(db: Connection): void {
  db.exec(AUDIT_SQL);
  // Stores made before the per-patient rows were deferred had every entry's rows written with it.
  db.exec(
    'INSERT OR IGNORE INTO audit_patient_indexed (only, seq) SELECT 1, coalesce(max(seq), 0) FROM audit_entry',
  );
}

/** Entries whose per-patient rows are written in one go at most (see indexPatients). */
const PATIENT_INDEX_BATCH = 5000;

/** A resource version the store has just written, for its audit entry. */
export interface WrittenVersion {
  resourceType: string;
  id: string;
  version: number;
  method: WriteMethod;
  /** True when the resource did not exist (or was deleted) before this version. */
  created: boolean;
  /** The version's JSON, or for a deletion the deleted version's: which patients it names. */
  json: string | null;
}

type RawRow = [number, number, string, Buffer];

export class AuditLog {
  private readonly statements;
  /** The newest seq appended since the last commit or rollback, for commit listeners. */
  appendedSeq: number | undefined;

  constructor(private readonly db: Connection) {
    this.statements = {
      tail: db.prepare<[], { seq: number; hash: Buffer }>(
        'SELECT seq, hash FROM audit_entry ORDER BY seq DESC LIMIT 1',
      ),
      insert: db.prepare('INSERT INTO audit_entry (seq, time, entry, hash) VALUES (?, ?, ?, ?)'),
      insertPatient: db.prepare('INSERT OR IGNORE INTO audit_patient (patient, seq) VALUES (?, ?)'),
      patientsIndexed: db.prepare<[], number>('SELECT seq FROM audit_patient_indexed WHERE only = 1').pluck(),
      setPatientsIndexed: db.prepare('UPDATE audit_patient_indexed SET seq = ? WHERE only = 1'),
      unindexed: db
        .prepare<[number, number], [number, string]>(
          'SELECT seq, entry FROM audit_entry WHERE seq > ? ORDER BY seq LIMIT ?',
        )
        .raw(),
      after: db
        .prepare<[number, number], RawRow>(
          'SELECT seq, time, entry, hash FROM audit_entry WHERE seq > ? ORDER BY seq LIMIT ?',
        )
        .raw(),
      all: db.prepare<[], RawRow>('SELECT seq, time, entry, hash FROM audit_entry ORDER BY seq').raw(),
      addCheckpoint: db.prepare('INSERT OR IGNORE INTO audit_checkpoint (seq, line) VALUES (?, ?)'),
      checkpoints: db.prepare<[], { seq: number; line: string }>(
        'SELECT seq, line FROM audit_checkpoint ORDER BY seq',
      ),
      checkpointsBetween: db.prepare<[number, number], { seq: number; line: string }>(
        'SELECT seq, line FROM audit_checkpoint WHERE seq > ? AND seq <= ? ORDER BY seq',
      ),
      range: db
        .prepare<[number, number, number], [number, string]>(
          'SELECT seq, entry FROM audit_entry WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?',
        )
        .raw(),
      hashAt: db.prepare<[number], { hash: Buffer }>('SELECT hash FROM audit_entry WHERE seq = ?'),
    };
  }

  /** Numbers, chains and stores one entry; the caller holds a write transaction. */
  append(draft: AuditEntryDraft): AuditAppended {
    return this.appendMany([draft])[0]!;
  }

  /**
   * Numbers, chains and stores entries in order; the caller holds a write transaction. Their
   * per-patient rows are written later, many entries at a time, by indexPatients.
   */
  appendMany(drafts: AuditEntryDraft[]): AuditAppended[] {
    const tail = this.statements.tail.get();
    let seq = tail?.seq ?? 0;
    let hash: Buffer = tail?.hash ?? GENESIS_HASH;
    const appended: AuditAppended[] = [];
    for (const draft of drafts) {
      const time = draft.time ?? new Date().toISOString();
      const text = canonicalEntry(draft, time);
      seq++;
      hash = linkHash(hash, text);
      this.statements.insert.run(seq, Date.parse(time), text, hash);
      appended.push({ seq, hash });
    }
    if (appended.length > 0) this.appendedSeq = seq;
    return appended;
  }

  /** The last seq whose per-patient rows are written. */
  patientsIndexedThrough(): number {
    return this.statements.patientsIndexed.get() ?? 0;
  }

  /**
   * Writes the per-patient rows of entries appended since the last call (at most `limit` entries),
   * sorted, so that each patient's part of the index is written once per call rather than once per
   * group commit; the caller holds a write transaction. Returns the last seq indexed.
   */
  indexPatients(limit = PATIENT_INDEX_BATCH): number {
    let through = this.patientsIndexedThrough();
    const entries = this.statements.unindexed.all(through, limit);
    if (entries.length === 0) return through;
    const rows: [string, number][] = [];
    for (const [seq, text] of entries) {
      for (const patient of entryPatients(text)) rows.push([patient, seq]);
      through = seq;
    }
    rows.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
    for (const [patient, seq] of rows) this.statements.insertPatient.run(patient, seq);
    this.statements.setPatientsIndexed.run(through);
    return through;
  }

  /** The entry for a version the store wrote. */
  appendWrite(written: WrittenVersion, context: AuditContext): AuditAppended {
    return this.append({
      agent: context.agent,
      action: written.method === 'delete' ? 'delete' : written.created ? 'create' : 'update',
      resource: { type: written.resourceType, id: written.id, version: String(written.version) },
      patients: patientIdsInJson(written.resourceType, written.id, written.json),
      outcome: 'success',
      detail: context.detail,
    });
  }

  head(): AuditAppended {
    const tail = this.statements.tail.get();
    return tail ? { seq: tail.seq, hash: tail.hash } : { seq: 0, hash: GENESIS_HASH };
  }

  entriesAfter(afterSeq: number, limit: number): AuditRecord[] {
    return this.statements.after.all(afterSeq, limit).map(toRecord);
  }

  /** Every entry in order, as raw rows [seq, time, entry, hash]: the verifier's fast path. */
  iterateRaw(): IterableIterator<RawRow> {
    return this.statements.all.iterate();
  }

  addCheckpoint(seq: number, line: string): void {
    this.statements.addCheckpoint.run(seq, line);
  }

  checkpoints(): { seq: number; line: string }[] {
    return this.statements.checkpoints.all();
  }

  // ---- For backups (docs/backup-format.md): entries and checkpoints as stored, and put back exactly ----

  /** Entries with afterSeq < seq <= throughSeq as [seq, canonical text], at most `limit`. */
  entryTexts(afterSeq: number, throughSeq: number, limit: number): [number, string][] {
    return this.statements.range.all(afterSeq, throughSeq, limit);
  }

  /** The stored hash of one entry, or undefined when there is no such entry. */
  hashAt(seq: number): Buffer | undefined {
    return this.statements.hashAt.get(seq)?.hash;
  }

  checkpointsBetween(afterSeq: number, throughSeq: number): { seq: number; line: string }[] {
    return this.statements.checkpointsBetween.all(afterSeq, throughSeq);
  }

  /**
   * For restore: appends an entry exactly as backed up (the same seq and bytes), linking it to the
   * stored tail as an append does (its per-patient rows are rebuilt by indexPatients). Returns its
   * hash, which the caller compares with the backup's.
   */
  appendExact(seq: number, text: string): Buffer {
    const tail = this.statements.tail.get();
    if (seq !== (tail?.seq ?? 0) + 1)
      throw new Error(`audit entry #${seq} does not follow the chain's last entry #${tail?.seq ?? 0}`);
    const time = Date.parse(entryTimeText(text) ?? '');
    if (Number.isNaN(time)) throw new Error(`audit entry #${seq} has no valid time`);
    const hash = linkHash(tail?.hash ?? GENESIS_HASH, text);
    this.statements.insert.run(seq, time, text, hash);
    return hash;
  }

  search(query: AuditQuery): AuditRecord[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    let from = 'audit_entry e';
    if (query.patient !== undefined) {
      from = 'audit_patient p JOIN audit_entry e ON e.seq = p.seq';
      where.push('p.patient = ?');
      params.push(query.patient);
    }
    if (query.agents?.length) {
      const agentId = "json_extract(e.entry, '$.agent.id')";
      const agentTyped = "json_extract(e.entry, '$.agent.type') || '/' || " + agentId;
      where.push(`(${query.agents.map(() => `${agentId} = ? OR ${agentTyped} = ?`).join(' OR ')})`);
      for (const agent of query.agents) params.push(agent, agent);
    }
    if (query.actions?.length) {
      where.push(`json_extract(e.entry, '$.action') IN (${query.actions.map(() => '?').join(',')})`);
      params.push(...query.actions);
    }
    if (query.outcomeCodes?.length) {
      const code = `CASE WHEN json_extract(e.entry, '$.outcome') = 'success' THEN 0
        WHEN json_extract(e.entry, '$.status') BETWEEN 400 AND 499 THEN 4 ELSE 8 END`;
      where.push(`${code} IN (${query.outcomeCodes.map(() => '?').join(',')})`);
      params.push(...query.outcomeCodes);
    }
    if (query.entity) {
      // An entry's entities are its resource and, for a Patient, the patients it names.
      const { type, id } = query.entity;
      let about = "json_extract(e.entry, '$.resource.type') = ?";
      params.push(type);
      if (id !== undefined) {
        about += " AND json_extract(e.entry, '$.resource.id') = ?";
        params.push(id);
      }
      if (type === 'Patient' && id !== undefined) {
        about = `(${about}) OR EXISTS (SELECT 1 FROM audit_patient n WHERE n.patient = ? AND n.seq = e.seq)`;
        params.push(id);
      }
      where.push(`(${about})`);
    }
    for (const range of query.timeRanges ?? []) {
      where.push('e.time BETWEEN ? AND ?');
      params.push(range.start, range.end);
    }
    if (query.afterSeq !== undefined) {
      where.push(query.descending ? 'e.seq < ?' : 'e.seq > ?');
      params.push(query.afterSeq);
    }
    const sql = `SELECT e.seq, e.time, e.entry, e.hash FROM ${from}
      ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
      ORDER BY e.seq ${query.descending ? 'DESC' : 'ASC'} LIMIT ?`;
    return (
      this.db
        .prepare(sql)
        .raw()
        .all(...params, query.limit) as RawRow[]
    ).map(toRecord);
  }
}

/**
 * An entry's canonical text (docs/audit-chain.md, section 2), written member by member in sorted
 * order: the same bytes as canonicalJson of the whole entry, without sorting each object every time.
 */
export function canonicalEntry(draft: AuditEntryDraft, time: string): string {
  const patients = draft.patients;
  const detail = draft.detail && Object.keys(draft.detail).length > 0 ? draft.detail : undefined;
  let text = `{"action":${canonicalJson(draft.action)},"agent":${stringMembers(draft.agent, AGENT_MEMBERS)}`;
  if (detail !== undefined) text += `,"detail":${canonicalJson(detail)}`;
  text += `,"outcome":${canonicalJson(draft.outcome)}`;
  if (patients?.length)
    text += `,"patients":${canonicalJson(patients.length === 1 ? patients : [...new Set(patients)].sort())}`;
  if (draft.resource !== undefined) text += `,"resource":${stringMembers(draft.resource, RESOURCE_MEMBERS)}`;
  if (draft.status !== undefined) text += `,"status":${canonicalJson(draft.status)}`;
  return `${text},"time":${canonicalJson(time)},"v":${AUDIT_FORMAT_VERSION}}`;
}

/** The members an agent and a resource usually have, in canonical (sorted) order. */
const AGENT_MEMBERS = ['address', 'display', 'id', 'type'] as const;
const RESOURCE_MEMBERS = ['id', 'type', 'version'] as const;

/**
 * canonicalJson of an object whose members are strings among `names` (sorted); anything else takes
 * the general path, so that the bytes are always canonicalJson's.
 */
function stringMembers(value: object, names: readonly string[]): string {
  let text = '';
  let count = 0;
  for (const name of names) {
    const member = (value as Record<string, unknown>)[name];
    if (member === undefined) continue;
    if (typeof member !== 'string') return canonicalJson(value);
    text += `${count === 0 ? '' : ','}"${name}":${JSON.stringify(member)}`;
    count++;
  }
  if (Object.keys(value).length !== count) return canonicalJson(value);
  return `{${text}}`;
}

/** The `patients` of a stored entry. */
function entryPatients(text: string): string[] {
  const patients = (JSON.parse(text) as { patients?: unknown }).patients;
  return Array.isArray(patients) ? patients.map(String) : [];
}

function toRecord([seq, time, entry, hash]: RawRow): AuditRecord {
  return { seq, time, entry, hash };
}
