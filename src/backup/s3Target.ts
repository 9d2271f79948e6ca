/**
 * A backup target in an S3-compatible bucket (AWS S3, Backblaze B2, Wasabi, MinIO) with Object Lock:
 * every object is written once, in compliance mode, with a retain-until date that nobody (not this
 * server's credential, not the account's root) can shorten or remove before it passes. After each
 * snapshot a backup run calls afterSnapshot, which keeps what the newest snapshot's chain needs locked
 * (s3Retention.ts), because deduplication makes new snapshots depend on old objects.
 */
import { createHash } from 'node:crypto';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectRetentionCommand,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { BackupError } from './backupError.ts';
import type { BackupKeys } from './backupKeys.ts';
import { DAY_MS, keepChainLocked, type LockKeeping } from './s3Retention.ts';
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
  readonly now: () => number;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  /** What the last afterSnapshot did (for messages and tests). */
  lastLockKeeping?: LockKeeping;
  /** Writes of one name from this process, one at a time (see putIfAbsent). */
  private readonly writing = new Map<string, Promise<unknown>>();

  constructor(options: S3TargetOptions) {
    this.bucket = options.bucket;
    this.prefix = options.prefix;
    this.retentionDays = options.retentionDays ?? DEFAULT_RETENTION_DAYS;
    this.marginDays = options.marginDays ?? DEFAULT_MARGIN_DAYS;
    if (!(this.retentionDays > this.marginDays))
      throw new BackupError(
        `an S3 retention of ${this.retentionDays} days must be longer than the ${this.marginDays}-day margin before it is extended.`,
      );
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

  /** The objects under a folder with their last-modified times, every page of the listing. */
  async listWithDates(folder: string): Promise<{ path: string; lastModified: Date }[]> {
    const prefix = `${this.prefix}${folder === '' || folder.endsWith('/') ? folder : `${folder}/`}`;
    const found: { path: string; lastModified: Date }[] = [];
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
            lastModified: object.LastModified ?? new Date(0),
          });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return found;
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
   * After a backup run wrote `snapshot`: when the oldest lock of its chain ends within the margin,
   * every object the chain needs is locked again for the full retention (s3Retention.ts).
   */
  async afterSnapshot(snapshot: string, keys: BackupKeys): Promise<void> {
    this.lastLockKeeping = await keepChainLocked(this, keys, snapshot).catch((error: unknown) => {
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
  private failure(what: string, error: unknown): Error {
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
            ? 'access denied: check the key and the bucket policy (docs/operations/backup.md)'
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

function statusOf(error: unknown): number | undefined {
  return error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
}

function isNotFound(error: unknown): boolean {
  const name = (error as Error).name;
  if (name === 'NoSuchBucket') return false;
  return name === 'NoSuchKey' || name === 'NotFound' || statusOf(error) === 404;
}
