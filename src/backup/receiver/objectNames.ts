/**
 * The only object names a receiver accepts: the layout of a backup target (docs/backup-format.md,
 * section 4) with names of lowercase letters and digits. Checked on the raw request path, before any
 * decoding, so `..`, `%2e`, absolute paths, backslashes and empty segments never reach the disk.
 */
const SEGMENT = '[0-9a-z]{1,64}';
const OBJECT_NAME = new RegExp(`^(config|packs/[0-9a-z]{2}/${SEGMENT}|snapshots/${SEGMENT})$`);
const LIST_PREFIX = /^(|packs\/|packs\/[0-9a-z]{2}\/|snapshots\/)$/;

export function isObjectName(path: string): boolean {
  return OBJECT_NAME.test(path);
}

export function isListPrefix(prefix: string): boolean {
  return LIST_PREFIX.test(prefix);
}

export const OBJECT_NAME_RULE =
  'object names are config, packs/XX/NAME or snapshots/NAME (lowercase letters and digits only)';
