/**
 * A backup target in an S3-compatible bucket (AWS S3, Backblaze B2, Wasabi, MinIO) with Object Lock:
 * every object is written once, in compliance mode, with a retain-until date that nobody (not this
 * server's credential, not the account's root) can shorten or remove before it passes. After each
 * snapshot a backup run calls afterSnapshot, which keeps what the snapshots retention keeps need locked
 * (s3Retention.ts), because deduplication makes new snapshots depend on old objects. Retention
 * (prune.ts) removes, with a key allowed to, the objects whose lock has run out and that no kept
 * snapshot needs (listStored, remove).
 */
import { createHash } from 'node:crypto';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  PutObjectRetentionCommand,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { BackupError } from './backupError.ts';
import type { BackupKeys } from './backupKeys.ts';
import { DEFAULT_RETENTION, type RetentionPolicy, type StoredObject } from './retention.ts';
import { DAY_MS, keepSnapshotsLocked, type LockKeeping } from './s3Retention.ts';
import { TargetConflict, type BackupTarget } from './target.ts';

/** Default retention of every object written: see docs/operations/backup.md ("S3 with Object Lock"). */
export const DEFAULT_RETENTION_DAYS = 30;
/** Locks are extended when the oldest guarantee ends within this many days. */
export const DEFAULT_MARGIN_DAYS = 7;

export interface S3Location {
  bucket: string;
  /** Key prefix ending in '/', or '' for the bucket's root. */
  prefix: string;
}

export interface S3TargetOptions extends S3Location {
  /** Endpoint of a provider other than AWS (https://s3.us-west-004.backblazeb2.com, a MinIO URL). */
  endpoint?: string;
  region?: string;
  /** Static credentials (from a credentials file); else the SDK's default chain (AWS_* variables). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  retentionDays?: number;
  marginDays?: number;
  /**
   * The snapshots whose objects the lock keeping extends: those this policy keeps (s3Retention.ts).
   * Prune with the same policy, or kept snapshots lose their locks (a larger one) or pruned ones
   * stay locked for up to the retention (a smaller one). Default: DEFAULT_RETENTION.
   */
  policy?: RetentionPolicy;
  /** Milliseconds since the epoch (tests move it). */
  now?: () => number;
  /** Called with the SDK client once made (tests add a middleware that records requests). */
  onClient?: (client: S3Client) => void;
}

/** Parses `s3://BUCKET/PREFIX` (the prefix is optional). */
export function parseS3Url(spec: string): S3Location {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(spec);
  const bucket = match?.[1] ?? '';
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
    throw new BackupError(
      `${spec}: not an S3 target; write s3://BUCKET/PREFIX (a bucket name of 3-63 lowercase letters, digits, dots and hyphens).`,
    );
  const rest = match![2]!.replace(/\/+$/, '');
  if (rest !== '' && (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(rest) || /(^|\/)\.\.?(\/|$)/.test(rest)))
    throw new BackupError(`${spec}: the prefix may hold letters, digits, '.', '_', '-' and '/' only.`);
  return { bucket, prefix: rest === '' ? '' : `${rest}/` };
}

export class S3Target implements BackupTarget {
  readonly description: string;
  readonly retentionDays: number;
  readonly marginDays: number;
  readonly policy: RetentionPolicy;
  readonly now: () => number;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  /** What the last afterSnapshot did (for messages and tests). */
  lastLockKeeping?: LockKeeping;
  /** Writes of one name from this process, one at a time (see putIfAbsent). */
  private readonly writing = new Map<string, Promise<unknown>>();
  /** False once the server answered ListObjectVersions with 405 or 501 (no versioning: s3rver). */
  private versioning = true;

  constructor(options: S3TargetOptions) {
    this.bucket = options.bucket;
    this.prefix = options.prefix;
    this.retentionDays = options.retentionDays ?? DEFAULT_RETENTION_DAYS;
    this.marginDays = options.marginDays ?? DEFAULT_MARGIN_DAYS;
    if (!(this.retentionDays > this.marginDays))
      throw new BackupError(
        `an S3 retention of ${this.retentionDays} days must be longer than the ${this.marginDays}-day margin before it is extended.`,
      );
    this.policy = options.policy ?? DEFAULT_RETENTION;
    this.now = options.now ?? Date.now;
    // The description names the place only: it is the key of backup status, never holds a secret.
    this.description = `s3://${this.bucket}/${this.prefix}${options.endpoint ? ` at ${new URL(options.endpoint).origin}` : ''}`;
    const config: S3ClientConfig = {
      region: options.region ?? 'us-east-1',
      // Checksums only where an operation requires one; every PUT carries Content-MD5 itself. The
      // default (a trailing checksum in aws-chunked framing) is stored as framing by some servers.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 4,
      ...(options.endpoint ? { endpoint: options.endpoint, forcePathStyle: true } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
    };
    this.client = new S3Client(config);
    options.onClient?.(this.client);
  }

  /** The retain-until date given to an object written now. */
  retainUntil(): Date {
    return new Date(Math.ceil((this.now() + this.retentionDays * DAY_MS) / 1000) * 1000);
  }

  /**
   * Writes `bytes` unless the name is taken. The PUT asks for `If-None-Match: *` (refused with 412 when
   * the object exists, on AWS and others that honour it); servers that ignore the condition are
   * covered by a HEAD first and by writing one name at a time within this process. Two processes
   * racing on one name on such a server can both write; names are keyed hashes of the content, so they
   * write the same bytes, and under Object Lock (which needs versioning) an earlier version is never
   * lost anyway (docs/backup-format.md, "S3 targets").
   */
  async putIfAbsent(path: string, bytes: Buffer): Promise<'written' | 'exists'> {
    const before = this.writing.get(path) ?? Promise.resolve();
    const mine = before.catch(() => undefined).then(() => this.putOnce(path, bytes));
    this.writing.set(path, mine);
    try {
      return await mine;
    } finally {
      if (this.writing.get(path) === mine) this.writing.delete(path);
    }
  }

  async get(path: string): Promise<Buffer | undefined> {
    try {
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.key(path) }),
      );
      return Buffer.from(await response.Body!.transformToByteArray());
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw this.failure(`reading ${path}`, error);
    }
  }

  async size(path: string): Promise<number | undefined> {
    return (await this.head(path))?.size;
  }

  /** Size, last-modified time and (where the server reports it) the lock of one object. */
  async head(path: string): Promise<{ size: number; lastModified: Date; retainUntil?: Date } | undefined> {
    try {
      const response = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(path) }),
      );
      return {
        size: response.ContentLength ?? 0,
        lastModified: response.LastModified ?? new Date(0),
        retainUntil: response.ObjectLockRetainUntilDate,
      };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw this.failure(`asking the size of ${path}`, error);
    }
  }

  async list(folder: string): Promise<string[]> {
    return (await this.listWithDates(folder)).map((o) => o.path);
  }

  /** The objects under a folder with their sizes and last-modified times, every page of the listing. */
  async listWithDates(folder: string): Promise<{ path: string; size: number; lastModified: Date }[]> {
    const prefix = `${this.prefix}${folder === '' || folder.endsWith('/') ? folder : `${folder}/`}`;
    const found: { path: string; size: number; lastModified: Date }[] = [];
    let token: string | undefined;
    do {
      const page = await this.client
        .send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }))
        .catch((error: unknown) => {
          throw this.failure(`listing ${folder}`, error);
        });
      for (const object of page.Contents ?? [])
        if (object.Key)
          found.push({
            path: object.Key.slice(this.prefix.length),
            size: object.Size ?? 0,
            lastModified: object.LastModified ?? new Date(0),
          });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return found;
  }

  /**
   * For retention (prune.ts): the objects under a folder with their sizes and when S3 stored them (the
   * current version's LastModified; objects are never rewritten, so that is when it was first written).
   */
  async listStored(folder: string): Promise<StoredObject[]> {
    return (await this.listWithDates(folder)).map((o) => ({
      path: o.path,
      size: o.size,
      storedAt: o.lastModified,
    }));
  }

  /**
   * For retention (prune.ts): removes every version of an object, unless one is still locked. Each
   * version's retention is asked first (GetObjectRetention): while any retain-until date is after now
   * (or less than CLOCK_SKEW_MS before it: the server's clock decides, and a refused delete would stop
   * the prune), nothing is deleted and the answer is 'locked' (compliance mode would refuse the delete;
   * prune tries again once the lock has run out). Otherwise each version is deleted by its VersionId, the current
   * one last (a plain DELETE on a versioned bucket only adds a delete marker and frees nothing; an
   * interrupted removal leaves the key listed, so the next prune finishes it), and delete markers with
   * them. A server without versioning (s3rver: ListObjectVersions answers 405) holds one copy per key:
   * its retention is asked without a version and the key deleted. A server that does not report
   * retention (501, or a bucket without Object Lock) is taken as holding no lock; if it enforces one
   * anyway, its refusal of the delete is an error. Needs a key allowed s3:ListBucketVersions,
   * s3:GetObjectRetention and s3:DeleteObjectVersion: not the practice server's (docs/operations/backup.md).
   */
  async remove(path: string): Promise<'removed' | 'locked'> {
    const key = this.key(path);
    const now = this.now() - CLOCK_SKEW_MS;
    const versions = this.versioning ? await this.versionsOf(key, path) : undefined;
    if (!versions) {
      const until = await this.retainedUntil(key, undefined, path);
      if (until && until.getTime() > now) return 'locked';
      await this.deleteVersion(key, undefined, path);
      return 'removed';
    }
    for (const version of versions.filter((v) => !v.deleteMarker)) {
      const until = await this.retainedUntil(key, version.versionId, path);
      if (until && until.getTime() > now) return 'locked';
    }
    for (const version of [...versions].sort((a, b) => Number(a.latest) - Number(b.latest)))
      await this.deleteVersion(key, version.versionId, path);
    return 'removed';
  }

  /** Every version and delete marker of one key; undefined when the server has no versioning. */
  private async versionsOf(
    key: string,
    path: string,
  ): Promise<{ versionId: string; latest: boolean; deleteMarker: boolean }[] | undefined> {
    const found: { versionId: string; latest: boolean; deleteMarker: boolean }[] = [];
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    for (;;) {
      let page;
      try {
        page = await this.client.send(
          new ListObjectVersionsCommand({
            Bucket: this.bucket,
            Prefix: key,
            KeyMarker: keyMarker,
            VersionIdMarker: versionIdMarker,
          }),
        );
      } catch (error) {
        if (notImplemented(error)) {
          this.versioning = false;
          return undefined;
        }
        throw this.failure(`listing the versions of ${path}`, error, DELETE_RIGHTS);
      }
      const entries = [
        ...(page.Versions ?? []).map((v) => ({ ...v, deleteMarker: false })),
        ...(page.DeleteMarkers ?? []).map((v) => ({ ...v, deleteMarker: true })),
      ];
      for (const entry of entries)
        if (entry.Key === key)
          found.push({
            versionId: entry.VersionId ?? 'null',
            latest: entry.IsLatest === true,
            deleteMarker: entry.deleteMarker,
          });
      // Keys come in order and this key sorts before every longer one: a page that reaches another
      // key has listed all of this one's versions.
      if (!page.IsTruncated || entries.some((e) => e.Key !== key)) return found;
      keyMarker = page.NextKeyMarker;
      versionIdMarker = page.NextVersionIdMarker;
    }
  }

  /** The retain-until date of one version (or of the key), or undefined when none is held. */
  private async retainedUntil(
    key: string,
    versionId: string | undefined,
    path: string,
  ): Promise<Date | undefined> {
    try {
      const answer = await this.client.send(
        new GetObjectRetentionCommand({ Bucket: this.bucket, Key: key, VersionId: versionId }),
      );
      return answer.Retention?.RetainUntilDate;
    } catch (error) {
      const name = (error as Error).name;
      // No lock on this version, no Object Lock on the bucket, or none on the server (s3rver: 501).
      if (name === 'NoSuchObjectLockConfiguration' || name === 'ObjectLockConfigurationNotFoundError')
        return undefined;
      if (name === 'InvalidRequest' && /object lock/i.test((error as Error).message)) return undefined;
      if (notImplemented(error) || isNotFound(error) || name === 'NoSuchVersion') return undefined;
      throw this.failure(`asking the retention of ${path}`, error, DELETE_RIGHTS);
    }
  }

  private async deleteVersion(key: string, versionId: string | undefined, path: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteObjectCommand({ Bucket: this.bucket, Key: key, VersionId: versionId }),
      );
    } catch (error) {
      if (isNotFound(error) || (error as Error).name === 'NoSuchVersion') return;
      throw this.failure(
        `removing ${path}${versionId ? ` (version ${versionId})` : ''}`,
        error,
        DELETE_RIGHTS,
      );
    }
  }

  /**
   * Moves the retain-until date of each object to `until` (compliance mode: a later date only; the
   * server refuses an earlier one). A few requests at a time.
   */
  async extendRetention(paths: string[], until: Date): Promise<void> {
    const queue = [...paths];
    const worker = async () => {
      for (let path = queue.shift(); path !== undefined; path = queue.shift()) {
        const current = path;
        await this.client
          .send(
            new PutObjectRetentionCommand({
              Bucket: this.bucket,
              Key: this.key(current),
              Retention: { Mode: 'COMPLIANCE', RetainUntilDate: until },
            }),
          )
          .catch((error: unknown) => {
            throw this.failure(`extending the retention of ${current}`, error);
          });
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, queue.length) }, worker));
  }

  /**
   * After a backup run wrote `snapshot`: when the oldest lock of what the kept snapshots need ends
   * within the margin, every object a kept snapshot lists is locked again for the full retention
   * (s3Retention.ts).
   */
  async afterSnapshot(snapshot: string, keys: BackupKeys): Promise<void> {
    this.lastLockKeeping = await keepSnapshotsLocked(this, keys, snapshot).catch((error: unknown) => {
      throw new BackupError(
        `Snapshot ${snapshot.slice(0, 12)} was written, but keeping the objects it needs locked failed: ${(error as Error).message}`,
      );
    });
  }

  /** Closes the SDK's kept-alive connections. */
  close(): void {
    this.client.destroy();
  }

  private async putOnce(path: string, bytes: Buffer): Promise<'written' | 'exists'> {
    if (await this.head(path)) return this.sameBytes(path, bytes);
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.key(path),
          Body: bytes,
          ContentLength: bytes.length,
          ContentType: 'application/octet-stream',
          // Object Lock requires an integrity header on the PUT; MD5 here is a transfer check only.
          ContentMD5: createHash('md5').update(bytes).digest('base64'),
          IfNoneMatch: '*',
          ObjectLockMode: 'COMPLIANCE',
          ObjectLockRetainUntilDate: this.retainUntil(),
        }),
      );
      return 'written';
    } catch (error) {
      if (statusOf(error) === 412) return this.sameBytes(path, bytes);
      throw this.failure(`storing ${path}`, error);
    }
  }

  private async sameBytes(path: string, bytes: Buffer): Promise<'exists'> {
    const stored = await this.get(path);
    if (stored && stored.equals(bytes)) return 'exists';
    throw new TargetConflict(
      `${this.description}: ${path} already exists with other content; it was left as it is. Run chartvault backup verify.`,
    );
  }

  private key(path: string): string {
    if (path === '' || path.startsWith('/') || path.split('/').includes('..'))
      throw new BackupError(`${path}: not an object path`);
    return `${this.prefix}${path}`;
  }

  /** An S3 error as one line an operator can act on (never the credential). */
  private failure(what: string, error: unknown, deniedHint?: string): Error {
    if (error instanceof BackupError) return error;
    const name = (error as Error).name;
    const message = (error as Error).message;
    const code = (error as NodeJS.ErrnoException).code;
    const hint =
      name === 'CredentialsProviderError'
        ? 'no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pass --s3-credentials FILE'
        : name === 'NoSuchBucket'
          ? `the bucket ${this.bucket} does not exist (create it with Object Lock enabled)`
          : name === 'AccessDenied' || statusOf(error) === 403
            ? (deniedHint ?? 'access denied: check the key and the bucket policy (docs/operations/backup.md)')
            : /object lock/i.test(message)
              ? `${message} (the bucket needs Object Lock enabled; docs/operations/backup.md)`
              : name === 'NotImplemented' || name === 'MethodNotAllowed' || statusOf(error) === 501
                ? `the server does not implement this (${name}): it does not support Object Lock`
                : code === 'ECONNREFUSED' || code === 'ENOTFOUND'
                  ? `cannot reach the S3 endpoint (${code}): check --s3-endpoint and the network`
                  : `${name}: ${message}`;
    return new BackupError(`${this.description}: ${what} failed: ${hint}.`);
  }
}

/** How far this machine's clock may be behind the server's when remove checks a lock. */
export const CLOCK_SKEW_MS = 5 * 60_000;

/** The access-denied hint of the calls only pruning makes. */
const DELETE_RIGHTS =
  "access denied: pruning needs a key allowed s3:ListBucketVersions, s3:GetObjectRetention and s3:DeleteObjectVersion (the practice server's key has none of them), and a locked version cannot be deleted by any key (docs/operations/backup.md)";

/** The server does not have this call at all (s3rver answers ListObjectVersions with 405). */
function notImplemented(error: unknown): boolean {
  const name = (error as Error).name;
  const status = statusOf(error);
  return name === 'NotImplemented' || name === 'MethodNotAllowed' || status === 501 || status === 405;
}

function statusOf(error: unknown): number | undefined {
  return error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
}

function isNotFound(error: unknown): boolean {
  const name = (error as Error).name;
  if (name === 'NoSuchBucket') return false;
  return name === 'NoSuchKey' || name === 'NotFound' || statusOf(error) === 404;
}
