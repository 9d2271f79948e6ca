/**
 * S3 credentials from a file, for a practice that keeps the backup key apart from the environment: the
 * AWS shared-credentials format (`[profile]` then `aws_access_key_id = ...`, `aws_secret_access_key =
 * ...`, optionally `aws_session_token = ...`). The file must be readable by its owner only, as SSH
 * insists for private keys. Values are never printed; errors name the file and the line's key only.
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { BackupError } from './backupError.ts';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export function readS3Credentials(file: string, profile = 'default'): S3Credentials {
  const path = resolve(file);
  let text: string;
  try {
    if (process.platform !== 'win32' && (statSync(path).mode & 0o077) !== 0)
      throw new BackupError(`${path} can be read by other users; make it private first: chmod 600 ${path}`);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof BackupError) throw error;
    throw new BackupError(`Cannot read the S3 credentials file ${path}.`);
  }
  const values = new Map<string, string>();
  let section = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[\s*(?:profile\s+)?([^\]\s]+)\s*\]$/.exec(line);
    if (header) section = header[1]!;
    else if (section === profile) {
      const pair = /^([A-Za-z_]+)\s*=\s*(.*)$/.exec(line);
      if (pair) values.set(pair[1]!.toLowerCase(), pair[2]!.trim());
    }
  }
  const accessKeyId = values.get('aws_access_key_id');
  const secretAccessKey = values.get('aws_secret_access_key');
  if (!accessKeyId || !secretAccessKey)
    throw new BackupError(
      `${path} has no [${profile}] section with aws_access_key_id and aws_secret_access_key.`,
    );
  const sessionToken = values.get('aws_session_token');
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}
