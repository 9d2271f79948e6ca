/**
 * How to reach an S3 target: endpoint, region, credentials file and retention, given on the command
 * line and remembered per s3:// address in the data directory (`backup-s3.json`), so that later runs
 * and the schedule inside `serve` use them without repeating them. The file holds no secret: the
 * credentials stay in the AWS environment variables or in the credentials file it names.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BackupError } from './backupError.ts';
import type { RetentionPolicy } from './retention.ts';
import { readS3Credentials } from './s3Credentials.ts';
import { DEFAULT_MARGIN_DAYS, parseS3Url, S3Target } from './s3Target.ts';

export const S3_SETTINGS_FILE = 'backup-s3.json';

export interface S3Settings {
  /** Of a provider other than AWS, e.g. https://s3.us-west-004.backblazeb2.com. */
  endpoint?: string;
  region?: string;
  /** A credentials file (AWS shared-credentials format); else the AWS_* environment variables. */
  credentials?: string;
  /** Days each object is locked for when written (and again when extended). */
  retentionDays?: number;
}

/** The s3:// address in one spelling (no trailing slash), the key of the remembered settings. */
export function s3Address(spec: string): string {
  const { bucket, prefix } = parseS3Url(spec);
  return `s3://${bucket}/${prefix.replace(/\/$/, '')}`.replace(/\/$/, '');
}

/** Checks and normalises settings from the command line (strings) before they are used or kept. */
export function s3SettingsFrom(given: {
  s3Endpoint?: string;
  s3Region?: string;
  s3Credentials?: string;
  s3RetentionDays?: string;
}): S3Settings {
  const settings: S3Settings = {};
  if (given.s3Endpoint !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(given.s3Endpoint);
    } catch {
      url = undefined;
    }
    if (!url || !/^https?:$/.test(url.protocol))
      throw new BackupError(
        `--s3-endpoint takes the provider's address, e.g. https://s3.us-west-004.backblazeb2.com, not "${given.s3Endpoint}".`,
      );
    settings.endpoint = url.origin;
  }
  if (given.s3Region !== undefined) {
    if (!/^[a-z0-9-]{2,40}$/.test(given.s3Region))
      throw new BackupError(`--s3-region takes a region name such as us-east-1, not "${given.s3Region}".`);
    settings.region = given.s3Region;
  }
  if (given.s3Credentials !== undefined) {
    readS3Credentials(given.s3Credentials); // refuses an unreadable or shared file now, not at 2 a.m.
    settings.credentials = resolve(given.s3Credentials);
  }
  if (given.s3RetentionDays !== undefined) {
    const days = Number(given.s3RetentionDays);
    if (!Number.isInteger(days) || days <= DEFAULT_MARGIN_DAYS || days > 3650)
      throw new BackupError(
        `--s3-retention-days takes whole days from ${DEFAULT_MARGIN_DAYS + 1} to 3650, not "${given.s3RetentionDays}".`,
      );
    settings.retentionDays = days;
  }
  return settings;
}

function readAll(dataDir: string): Record<string, S3Settings> {
  const file = join(dataDir, S3_SETTINGS_FILE);
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, S3Settings>;
  } catch {
    throw new BackupError(
      `${resolve(file)} is not valid JSON; fix or remove it and give the --s3-* options again.`,
    );
  }
}

export function readS3Settings(dataDir: string, spec: string): S3Settings {
  return readAll(dataDir)[s3Address(spec)] ?? {};
}

export function rememberS3Settings(dataDir: string, spec: string, settings: S3Settings): void {
  const all = readAll(dataDir);
  all[s3Address(spec)] = settings;
  writeFileSync(join(dataDir, S3_SETTINGS_FILE), `${JSON.stringify(all, null, 2)}\n`, { mode: 0o600 });
}

/**
 * The target for `spec` with these settings. `policy`: the retention policy prune applies to it (the
 * schedule's --keep), so that the lock keeping extends exactly what prune keeps; the default policy
 * when not given.
 */
export function openS3Target(spec: string, settings: S3Settings, policy?: RetentionPolicy): S3Target {
  return new S3Target({
    ...parseS3Url(spec),
    endpoint: settings.endpoint,
    region: settings.region,
    credentials: settings.credentials ? readS3Credentials(settings.credentials) : undefined,
    retentionDays: settings.retentionDays,
    policy,
  });
}
