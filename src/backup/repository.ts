/** Opening a target as this store's repository: its config checked against the kit or the key. */
import { BackupError } from './backupError.ts';
import type { BackupKeys } from './backupKeys.ts';
import { checkConfig, CONFIG_PATH, makeConfig, type RepositoryConfig } from './repositoryFormat.ts';
import type { BackupTarget } from './target.ts';

/** For reading (verify, restore): the target must already be this store's repository. */
export async function openRepository(
  target: BackupTarget,
  keys: BackupKeys,
  storeId: string,
): Promise<RepositoryConfig> {
  const bytes = await target.get(CONFIG_PATH);
  if (!bytes)
    throw new BackupError(
      `${target.description} holds no ChartVault backup (no config file); check the path.`,
    );
  return checkConfig(bytes, keys, storeId, target.description);
}

/** For writing: makes the config on first use (write-once, like every object), else checks it. */
export async function openOrCreateRepository(
  target: BackupTarget,
  keys: BackupKeys,
  storeId: string,
): Promise<RepositoryConfig> {
  const existing = await target.get(CONFIG_PATH);
  if (existing) return checkConfig(existing, keys, storeId, target.description);
  const listed = [...(await target.list('packs/')), ...(await target.list('snapshots/'))];
  if (listed.length > 0)
    throw new BackupError(
      `${target.description} holds backup objects but no config; it is damaged or not ours.`,
    );
  await target.putIfAbsent(CONFIG_PATH, makeConfig(keys, storeId, new Date().toISOString()));
  return openRepository(target, keys, storeId);
}
