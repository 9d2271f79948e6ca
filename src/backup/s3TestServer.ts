/**
 * For tests: a local S3-compatible server (s3rver, a devDependency) on 127.0.0.1 with its files in a
 * folder, and a bucket made as an operator makes one (CreateBucket with Object Lock enabled). s3rver
 * 3.7 keeps objects as plain files, ignores Object Lock and `If-None-Match` on PUT, and answers
 * PutObjectRetention with 405: tests check what the client sends, not what the server enforces.
 */
import { createRequire } from 'node:module';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;

/** s3rver's fixed test credentials (it checks request signatures against them). */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface LocalS3 {
  endpoint: string;
  bucket: string;
  close(): Promise<void>;
}

export async function startLocalS3(directory: string, bucket = 'chartvault-backups'): Promise<LocalS3> {
  const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass;
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true });
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
  return { endpoint, bucket, close: () => server.close() };
}
