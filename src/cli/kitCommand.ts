/** `chartvault kit`: (re)writes the recovery kit; also used by `init`. */
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import QRCode from 'qrcode';
import { kitLines, renderKit } from '../backup/index.ts';
import { backupKeyFilePath, createBackupKey, loadBackupKey, readSettings } from '../store/index.ts';

/** Where the kit goes when no file is named: beside the keys, in the owner-only key folder. */
export function defaultKitPath(keyDir: string, storeId: string): string {
  return resolve(keyDir, `${storeId}.recovery-kit.html`);
}

export async function writeKitFile(file: string, storeId: string, backupKey: Buffer): Promise<string> {
  const path = resolve(file);
  const kit = { storeId, backupKey };
  // The QR code holds the same lines as the text block, so a phone can carry the kit to a new machine.
  const qrSvg = await QRCode.toString(kitLines(kit).join('\n'), { type: 'svg', errorCorrectionLevel: 'M' });
  const html = renderKit(kit, { createdAt: new Date().toISOString(), targets: [], qrSvg });
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
  const path = await writeKitFile(options.out ?? defaultKitPath(options.keyDir, storeId), storeId, key);
  console.log(`Wrote the recovery kit to ${path} (readable only by you).`);
  console.log(KIT_ADVICE);
}
