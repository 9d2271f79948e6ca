/**
 * `chartvault keys rotate-backup`: the answer to a lost or stolen recovery kit. A new backup master
 * key and a new kit; the old key is kept aside (renamed, owner-only) so that an administrator can
 * still read the old targets if ever needed, but it is no longer used. Snapshots taken from now on go
 * to new targets, which the old kit cannot open; the old targets are retired once the new ones have
 * verified snapshots.
 */
import { existsSync, renameSync } from 'node:fs';
import { backupKeyFilePath, createBackupKey, readSettings } from '../store/index.ts';
import { auditKeyRotation, keyRotationEntry } from './keysCommand.ts';
import { defaultKitPath, KIT_ADVICE, writeKitFile } from './kitCommand.ts';

export async function rotateBackupKeyCommand(options: { data: string; keyDir: string; kitOut?: string }) {
  const { storeId } = readSettings(options.data);
  const keyFile = backupKeyFilePath(options.keyDir, storeId);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  let retired: string | undefined;
  if (existsSync(keyFile)) {
    retired = `${keyFile}.retired-${stamp}`;
    renameSync(keyFile, retired);
  }
  const { key, file } = createBackupKey(options.keyDir, storeId);
  const kitPath = options.kitOut ?? defaultKitPath(options.keyDir, storeId);
  if (!options.kitOut && existsSync(kitPath))
    renameSync(kitPath, kitPath.replace(/\.html$/, `.retired-${stamp}.html`));
  const kit = await writeKitFile(kitPath, storeId, key);
  console.log(`Made a new backup key ${file}${retired ? `; the old one is kept aside as ${retired}` : ''}.`);
  console.log(`Wrote the new recovery kit to ${kit}. ${KIT_ADVICE}`);
  console.log(
    'Back up to NEW targets from now on (chartvault backup run --to NEWTARGET, and chartvault backup schedule --to ...): ' +
      'targets written under the old key refuse the new one, and the old kit cannot open what the new key writes. ' +
      'Once the new targets hold verified snapshots, retire the old targets and destroy the old kit.',
  );
  await auditKeyRotation(
    options,
    keyRotationEntry('backup-key', 'success', {
      retired: retired ? 1 : 0,
      kit: kitPath === kit ? 'written' : kit,
    }),
  );
}
