/**
 * For tests: a local S3-compatible server (s3rver, a devDependency) on 127.0.0.1 with its files in a
 * folder, and a bucket made as an operator makes one (CreateBucket with Object Lock enabled). s3rver
 * 3.7 keeps objects as plain files, one copy per key, and has neither versioning nor Object Lock: it
 * ignores the lock headers and `If-None-Match` on PUT (it stores neither), answers ListObjectVersions
 * and PutObjectRetention with 405, GetObjectRetention with 501, and deletes a key on any DELETE (a
 * `versionId` is ignored). Tests of the plain server check what the client sends, not what the server
 * enforces.
 *
 * With `objectLock`, a layer in front of s3rver's routes emulates what a bucket with Object Lock does
 * with the calls ChartVault makes (in memory, for this server's life): each PUT gets a version id and
 * keeps the lock headers it was sent; GetObjectRetention answers them (404
 * NoSuchObjectLockConfiguration without); PutObjectRetention moves a compliance date later only (403
 * for an earlier one); ListObjectVersions lists the one version per key; DELETE with a `versionId` is
 * refused with 403 while the version's retain-until date is after the layer's clock, and a DELETE
 * without one is refused with 501 (a real bucket would add a delete marker and free nothing, which
 * the emulation does not model). Its clock is the server's: HEAD, GET and listings give the write
 * times it recorded, and report the version and its lock. Not emulated: several
 * versions of one key (s3rver overwrites), delete markers, legal holds, governance bypass, signature
 * checks on the emulated calls.
 */
import { createRequire } from 'node:module';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  headers: Record<string, string | string[] | undefined>;
  req: AsyncIterable<Buffer>;
  status: number;
  body: unknown;
  set(name: string, value: string): void;
}
type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
  /** Koa's middleware list (s3rver is a Koa application; its router is the last entry). */
  middleware: KoaMiddleware[];
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;
type S3ErrorClass = new (code: string, message: string) => Error & { status: number };

/** s3rver's fixed test credentials (it checks request signatures against them). */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface LocalS3Options {
  /** Emulate Object Lock and versioning (above); `now` is the clock locks are checked against. */
  objectLock?: { now: () => number };
}

/** What the Object Lock emulation holds for a key. */
export interface EmulatedVersion {
  versionId: string;
  mode?: string;
  retainUntil?: Date;
  size: number;
  lastModified: Date;
}

export interface LocalS3 {
  endpoint: string;
  bucket: string;
  /** With `objectLock`: the version and lock the emulation holds for a key (bucket-relative). */
  lockOf(key: string): EmulatedVersion | undefined;
  close(): Promise<void>;
}

export async function startLocalS3(
  directory: string,
  bucket = 'chartvault-backups',
  options: LocalS3Options = {},
): Promise<LocalS3> {
  const require = createRequire(import.meta.url);
  const S3rver = require('s3rver') as S3rverClass;
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true });
  const versions = new Map<string, EmulatedVersion>();
  if (options.objectLock) {
    const S3Error = require('s3rver/lib/models/error') as S3ErrorClass;
    // Before the router (which holds the routes), after the layer that encodes object bodies as XML.
    server.middleware.splice(
      server.middleware.length - 1,
      0,
      objectLockLayer(versions, options.objectLock.now, S3Error),
    );
  }
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
  });
  await client.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
  client.destroy();
  return {
    endpoint,
    bucket,
    lockOf: (key) => versions.get(`${bucket}/${key}`),
    close: () => server.close(),
  };
}

function objectLockLayer(
  versions: Map<string, EmulatedVersion>,
  now: () => number,
  S3Error: S3ErrorClass,
): KoaMiddleware {
  let counter = 0;
  const fail = (code: string, message: string, status: number) =>
    Object.assign(new S3Error(code, message), { status, expose: true });
  const header = (ctx: KoaContext, name: string) => {
    const value = ctx.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  return async (ctx, next) => {
    const [, bucket = '', ...rest] = ctx.path.split('/');
    const key = decodeURIComponent(rest.join('/'));
    const id = `${bucket}/${key}`;
    const has = (name: string) => name in ctx.query;
    // The SDK names the operation in `x-id` (PutObject, DeleteObject): not a sub-resource.
    const subresources = Object.keys(ctx.query).filter((q) => q !== 'x-id');
    const versionId = typeof ctx.query.versionId === 'string' ? ctx.query.versionId : undefined;
    const version = versions.get(id);
    const wanted = () => {
      if (!version) throw fail('NoSuchKey', 'The specified key does not exist.', 404);
      if (versionId !== undefined && versionId !== version.versionId)
        throw fail('NoSuchVersion', 'The specified version does not exist.', 404);
      return version;
    };

    if (key === '' && ctx.method === 'GET' && has('versions')) {
      const prefix = `${bucket}/${typeof ctx.query.prefix === 'string' ? ctx.query.prefix : ''}`;
      const listed = [...versions.entries()]
        .filter(([name]) => name.startsWith(prefix))
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      ctx.body = {
        ListVersionsResult: {
          '@': { xmlns: 'http://s3.amazonaws.com/doc/2006-03-01/' },
          Name: bucket,
          Prefix: ctx.query.prefix ?? '',
          IsTruncated: false,
          Version: listed.map(([name, v]) => ({
            Key: name.slice(bucket.length + 1),
            VersionId: v.versionId,
            IsLatest: true,
            LastModified: v.lastModified.toISOString(),
            Size: v.size,
            StorageClass: 'STANDARD',
          })),
        },
      };
      return;
    }
    if (key === '') {
      await next();
      // The emulation's clock is the server's: listings give its write times.
      const listing = (
        ctx.body as { ListBucketResult?: { Contents?: { Key: string; LastModified: string }[] } }
      )?.ListBucketResult;
      for (const entry of listing?.Contents ?? []) {
        const v = versions.get(`${bucket}/${entry.Key}`);
        if (v) entry.LastModified = v.lastModified.toISOString();
      }
      return;
    }

    if (has('retention') && ctx.method === 'GET') {
      const v = wanted();
      if (!v.retainUntil)
        throw fail(
          'NoSuchObjectLockConfiguration',
          'The specified object does not have a ObjectLock configuration',
          404,
        );
      ctx.body = {
        Retention: { Mode: v.mode ?? 'COMPLIANCE', RetainUntilDate: v.retainUntil.toISOString() },
      };
      return;
    }
    if (has('retention') && ctx.method === 'PUT') {
      const v = wanted();
      const chunks: Buffer[] = [];
      for await (const chunk of ctx.req) chunks.push(chunk);
      const xml = Buffer.concat(chunks).toString();
      const mode = /<Mode>([^<]*)<\/Mode>/.exec(xml)?.[1];
      const until = /<RetainUntilDate>([^<]*)<\/RetainUntilDate>/.exec(xml)?.[1];
      if (!mode || !until || Number.isNaN(Date.parse(until)))
        throw fail('MalformedXML', 'The XML you provided was not well-formed.', 400);
      if (v.mode === 'COMPLIANCE' && v.retainUntil && Date.parse(until) < v.retainUntil.getTime())
        throw fail('AccessDenied', 'Access Denied', 403);
      v.mode = mode;
      v.retainUntil = new Date(until);
      ctx.status = 200;
      ctx.body = '';
      return;
    }
    if (ctx.method === 'DELETE' && subresources.every((q) => q === 'versionId')) {
      if (versionId === undefined)
        throw fail('NotImplemented', 'The Object Lock emulation deletes by versionId only.', 501);
      if (!version || version.versionId !== versionId) {
        ctx.status = 204;
        ctx.body = '';
        return;
      }
      if (version.retainUntil && version.retainUntil.getTime() > now())
        throw fail('AccessDenied', 'Access Denied', 403);
      await next();
      versions.delete(id);
      return;
    }
    if (ctx.method === 'PUT' && subresources.length === 0 && !header(ctx, 'x-amz-copy-source')) {
      await next();
      if (ctx.status !== 200) return;
      const until = header(ctx, 'x-amz-object-lock-retain-until-date');
      const stored: EmulatedVersion = {
        versionId: `v${++counter}`,
        mode: header(ctx, 'x-amz-object-lock-mode'),
        retainUntil: until ? new Date(until) : undefined,
        size: Number(header(ctx, 'content-length') ?? 0),
        lastModified: new Date(now()),
      };
      versions.set(id, stored);
      ctx.set('x-amz-version-id', stored.versionId);
      return;
    }
    await next();
    if ((ctx.method === 'GET' || ctx.method === 'HEAD') && ctx.status === 200 && version) {
      ctx.set('x-amz-version-id', version.versionId);
      ctx.set('Last-Modified', version.lastModified.toUTCString());
      if (version.mode && version.retainUntil) {
        ctx.set('x-amz-object-lock-mode', version.mode);
        ctx.set('x-amz-object-lock-retain-until-date', version.retainUntil.toISOString());
      }
    }
  };
}
