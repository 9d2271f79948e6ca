/**
 * The storage contract. Asynchronous and free of HTTP, so that the SQLite engine of the embedded default
 * and a PostgreSQL engine can stand behind it without changing callers.
 */
import type { IndexEntry, Resource } from '../fhir/types.ts';
import type { PageCursor, SearchRequest } from '../fhir/searchRequest.ts';
import type { RawVersion } from './sqlite/versionLog.ts';

export type WriteMethod = 'create' | 'update' | 'delete';

/** One version of a resource as the store keeps it. A delete is a version with no resource (a tombstone). */
export interface StoredVersion {
  resourceType: string;
  id: string;
  versionId: string;
  lastUpdated: string;
  method: WriteMethod;
  resource?: Resource;
}

export interface StoredJsonText {
  json: string;
  versionId: string;
  lastUpdated: string;
}

export interface WriteResult {
  /** The resource as stored, with `meta.versionId` and `meta.lastUpdated` set by the store. */
  resource: Resource;
  /** True when this write made the resource exist (a create, or an update of an unknown id). */
  created: boolean;
  /** True when `skipIfUnchanged` found the same content stored and wrote nothing. */
  unchanged?: boolean;
}

export interface DeleteResult {
  /** False when there was nothing to delete (unknown or already deleted). */
  deleted: boolean;
  versionId?: string;
}

export interface WriteOptions {
  /** Optimistic locking: the write fails with 412 unless the current version is this one. */
  ifMatchVersion?: string;
  /** Index values computed ahead (e.g. by an import worker); computed by the store when absent. */
  index?: IndexEntry[];
  /** For create: the id to give the new resource (a transaction assigns ids first, so entries can refer to each other). */
  newId?: string;
  /** For update: write no new version when the content (ignoring meta.versionId/lastUpdated) is unchanged. */
  skipIfUnchanged?: boolean;
  /** For update: write nothing when the resource already exists (first one wins, e.g. de-duplicated reference data). */
  keepExisting?: boolean;
  /** Who the write is attributed to in the audit chain; the store's default (the process's user) when absent. */
  audit?: AuditContext;
}

export interface HistoryRequest {
  resourceType?: string;
  id?: string;
  /** Only versions written at or after this instant (epoch ms). */
  since?: number;
  count: number;
  offset: number;
}

export interface HistoryPage {
  versions: StoredVersion[];
  total: number;
}

export interface SearchResult {
  resources: Resource[];
  /** Present when the request asked for an accurate total. */
  total?: number;
  /** Present when more matches follow: where the next page starts. */
  next?: PageCursor;
  /** Present when matches come before this page: where the previous page ends. */
  previous?: PageCursor;
}

/** Reads and writes; what a transaction callback receives too. */
export interface StoreOperations {
  /** Creates a resource with a new server-assigned id (any id on the input is replaced). */
  create(resource: Resource, options?: WriteOptions): Promise<WriteResult>;
  /** Writes a new version of `resource.id`, creating it when absent (update-as-create). */
  update(resource: Resource, options?: WriteOptions): Promise<WriteResult>;
  /** Writes a tombstone version. */
  delete(resourceType: string, id: string, options?: WriteOptions): Promise<DeleteResult>;
  /** The current version; throws 404 when unknown, 410 when deleted. */
  read(resourceType: string, id: string): Promise<Resource>;
  /** The current version as the stored JSON text, for callers that only pass it on (a plain read). */
  readJson(resourceType: string, id: string): Promise<StoredJsonText>;
  /** A given version; throws 404 when unknown, 410 when that version is a tombstone. */
  vread(resourceType: string, id: string, versionId: string): Promise<Resource>;
  history(request: HistoryRequest): Promise<HistoryPage>;
  search(request: SearchRequest): Promise<SearchResult>;
  /** Security records (accounts, clients, sessions...): outside FHIR, inside the same transactions. */
  readonly records: SecurityRecords;
  /**
   * Appends an entry to the audit chain. Inside a transaction it commits with the transaction; outside,
   * entries arriving together share one commit (group commit), and the promise resolves once it is durable.
   */
  appendAudit(draft: AuditEntryDraft): Promise<AuditAppended>;
}

/** One write of an atomic batch: a resource version to store (by its id), or a deletion. */
export type BatchWrite =
  | { kind: 'put'; resource: Resource; index?: IndexEntry[]; keepExisting?: boolean }
  | { kind: 'delete'; resourceType: string; id: string };

/** What a batch write did: `unchanged` when the content was already stored as it is. */
export type BatchWriteOutcome = 'created' | 'updated' | 'unchanged' | 'deleted';

export interface ResourceStore extends StoreOperations, AuditLogStore {
  /**
   * Writes many versions in one transaction (all or nothing), skipping resources whose content is
   * unchanged, so that importing the same data twice adds no version. The importer's path.
   */
  writeBatch(writes: BatchWrite[]): Promise<BatchWriteOutcome[]>;
  /**
   * Runs `work` atomically: every write inside commits together or not at all. Reads inside see the
   * transaction's own writes. Writes from other callers wait until it ends.
   */
  transaction<T>(work: (tx: StoreOperations) => Promise<T>): Promise<T>;
  /** Resource counts per type, current and not deleted. */
  countByType(): Promise<Record<string, number>>;
  /** Refreshes the statistics that searches plan with; the importer runs it after a bulk load. */
  optimize(): Promise<void>;
  close(): Promise<void>;
}

/** One security record as listed. */
export interface RecordEntry<T> {
  id: string;
  value: T;
  /** When it was last written (epoch ms). */
  updated: number;
  /** When it stops counting (epoch ms); absent for records that stay. */
  expiresAt?: number;
}

/**
 * Small JSON records by kind and id for the access layer (accounts, clients, sessions, used token ids,
 * throttling counters). Not FHIR resources: never searched, versioned or exported as chart data.
 * Records past their `expiresAt` read as absent.
 */
export interface SecurityRecords {
  get<T>(kind: string, id: string): Promise<T | undefined>;
  list<T>(kind: string): Promise<RecordEntry<T>[]>;
  /** Writes (replaces) the record. */
  put(kind: string, id: string, value: unknown, options?: { expiresAt?: number }): Promise<void>;
  /** Writes only when no live record has this id; false when one has (one-time values such as a jti). */
  insertNew(kind: string, id: string, value: unknown, options?: { expiresAt?: number }): Promise<boolean>;
  /** False when there was nothing to delete. */
  delete(kind: string, id: string): Promise<boolean>;
  /** Removes expired records; returns how many. */
  purgeExpired(): Promise<number>;
}

// ---- The audit chain (docs/audit-chain.md): entries the store numbers, hashes and keeps append-only ----

/** Who acted: `unauthenticated` (with `address`), `os-user`, `system`, and later `user` and `client`. */
export interface AuditAgent {
  type: string;
  id?: string;
  display?: string;
  /** The role the agent acted in (access/roles.ts), for requests with a verified token. */
  role?: string;
  address?: string;
}

/** An audit entry before the store numbers and chains it. Identifiers only: no resource content. */
export interface AuditEntryDraft {
  /** ISO 8601 UTC with milliseconds; now when absent. */
  time?: string;
  agent: AuditAgent;
  action: string;
  resource?: { type: string; id?: string; version?: string };
  patients?: string[];
  outcome: 'success' | 'failure';
  status?: number;
  detail?: Record<string, string | number>;
}

/** Who writes are attributed to, and extra detail for their entries; the store adds what was written. */
export interface AuditContext {
  agent: AuditAgent;
  detail?: Record<string, string | number>;
}

export interface AuditAppended {
  seq: number;
  hash: Buffer;
}

/** One stored entry: its number, time (epoch ms), canonical JSON text and chain hash. */
export interface AuditRecord {
  seq: number;
  time: number;
  entry: string;
  hash: Buffer;
}

/** A search of the chain; every given condition must hold. */
export interface AuditQuery {
  patient?: string;
  /** Any of these agent ids (or `type/id`). */
  agents?: string[];
  actions?: string[];
  /** Any of these outcome codes: 0 success, 4 failure answered 4xx, 8 any other failure. */
  outcomeCodes?: number[];
  /** Entries about this resource type, and id when given. */
  entity?: { type: string; id?: string };
  /** Each range must contain the entry's time (epoch ms, inclusive). */
  timeRanges?: { start: number; end: number }[];
  /** Only entries whose seq is after (ascending) or before (descending) this one: paging. */
  afterSeq?: number;
  descending?: boolean;
  limit: number;
}

export interface AuditLogStore {
  /** The last entry's number and hash (0 and 32 zero bytes when the chain is empty). */
  auditHead(): Promise<AuditAppended>;
  /** Entries with seq > afterSeq, in order, at most `limit`. */
  auditEntriesAfter(afterSeq: number, limit: number): Promise<AuditRecord[]>;
  searchAudit(query: AuditQuery): Promise<AuditRecord[]>;
  /** Keeps a signed checkpoint line (the first one for a seq wins). */
  addAuditCheckpoint(seq: number, line: string): Promise<void>;
  auditCheckpoints(): Promise<{ seq: number; line: string }[]>;
  /** Called after each commit that appended entries, with the newest seq; returns an unsubscribe function. */
  onAuditCommitted(listener: (lastSeq: number) => void): () => void;
}

// ---- Backups (docs/backup-format.md): the audit chain and security records as stored, raw ----

/** One security record exactly as stored, for backups. */
export interface RawRecord {
  kind: string;
  id: string;
  /** The stored JSON text. */
  json: string;
  /** Epoch ms. */
  updated: number;
  expires: number | null;
}

/** What a snapshot covers, read in one read transaction so that its parts agree with each other. */
export interface BackupPoint {
  /** The newest version's vid, and the live resources per type at it. */
  vid: number;
  counts: Record<string, number>;
  /** The audit chain's last entry and its hash at the same moment. */
  auditSeq: number;
  auditHash: Buffer;
  /** Checkpoints with seq > the `checkpointsAfter` asked for and <= auditSeq, in seq order. */
  checkpoints: { seq: number; line: string }[];
  /** The records of the kinds asked for, ordered by kind then id. */
  records: RawRecord[];
}

/** What a restore writes into a new store, all inside one transaction (restoreBackup). */
export interface RestoreSink {
  /** Resource versions, exactly as backed up (same vid, versionId, lastUpdated, method, body). */
  versions(rows: RawVersion[]): void;
  /** The next audit entry (its exact canonical text) as `seq`; returns its recomputed chain hash. */
  auditEntry(seq: number, entry: string): Buffer;
  auditCheckpoint(seq: number, line: string): void;
  record(row: RawRecord): void;
}
