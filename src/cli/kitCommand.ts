/** `chartvault kit`: (re)writes the recovery kit; also used by `init`. */
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { renderKit } from '../backup/index.ts';
import { backupKeyFilePath, createBackupKey, loadBackupKey, readSettings } from '../store/index.ts';

/** Where the kit goes when no file is named: beside the keys, in the owner-only key folder. */
export function defaultKitPath(keyDir: string, storeId: string): string {
  return resolve(keyDir, `${storeId}.recovery-kit.html`);
}

export function writeKitFile(file: string, storeId: string, backupKey: Buffer): string {
  const path = resolve(file);
  const html = renderKit({ storeId, backupKey }, { createdAt: new Date().toISOString(), targets: [] });
  writeFileSync(path, html, { mode: 0o600 });
  return path;
}

export const KIT_ADVICE =
  'Print it, keep the paper away from this machine, and delete the file: with it and one backup target the practice can be restored anywhere.';

export async function kitCommand(options: { data: string; keyDir: string; out?: string }): Promise<void> {
  const { storeId } = readSettings(options.data);
  let key: Buffer;
  if (existsSync(backupKeyFilePath(options.keyDir, storeId)))
    key = loadBackupKey(options.keyDir, storeId).key;
  else {
    // A store made before backups existed: its backup key is made now.
    const created = createBackupKey(options.keyDir, storeId);
    console.log(`Created the backup key ${created.file}.`);
    key = created.key;
  }
  const path = writeKitFile(options.out ?? defaultKitPath(options.keyDir, storeId), storeId, key);
  console.log(`Wrote the recovery kit to ${path} (readable only by you).`);
  console.log(KIT_ADVICE);
}
