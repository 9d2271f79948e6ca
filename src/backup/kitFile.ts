/**
 * The recovery kit: a printable, self-contained HTML page (no scripts, no external resources) with
 * everything a restore needs besides a target: the store id, the backup format, and the backup master
 * key as text, with a short check value that catches a mistyped key. The same lines, typed into a
 * plain text file, are a valid kit too: `parseKit` reads only the `name: value` lines of the block.
 */
import { BackupError } from './backupError.ts';
import { keyCheck } from './backupKeys.ts';
import { FORMAT_VERSION } from './repositoryFormat.ts';

export interface RecoveryKit {
  storeId: string;
  backupKey: Buffer;
}

export function kitLines(kit: RecoveryKit): string[] {
  const hex = kit.backupKey.toString('hex');
  return [
    'CHARTVAULT RECOVERY KIT',
    'kit-format: 1',
    `backup-format: ${FORMAT_VERSION}`,
    `store-id: ${kit.storeId}`,
    `backup-key: ${hex.match(/.{4}/g)!.join(' ')}`,
    `key-check: ${keyCheck(kit.backupKey)}`,
  ];
}

const escape = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

export function renderKit(
  kit: RecoveryKit,
  details: { createdAt: string; targets: string[]; qrSvg?: string },
): string {
  const lines = kitLines(kit).map(escape).join('\n');
  const targets = details.targets.length
    ? details.targets.map((t) => `<li><code>${escape(t)}</code></li>`).join('')
    : '<li>none configured yet: write here where your backups go (external disk, receiver, S3 bucket).</li>';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="robots" content="noindex">
<title>ChartVault recovery kit</title>
<style>
body { font: 12pt/1.45 system-ui, sans-serif; max-width: 46em; margin: 2em auto; color: #111; }
pre { font: 13pt/1.6 ui-monospace, monospace; border: 2px solid #111; padding: 1em; white-space: pre-wrap; word-break: break-all; }
.warn { border-left: 6px solid #b00; padding: .3em 1em; }
.qr svg { width: 12em; height: 12em; }
@media print { body { margin: 0; } }
</style>
</head>
<body>
<h1>ChartVault recovery kit</h1>
<p class="warn"><strong>Secret.</strong> This page opens every backup of this practice. Print it, store the
paper in a safe place away from the server (not on the server, not in its e-mail), and delete this
file once printed. Made ${escape(details.createdAt)}.</p>
<h2>Key material</h2>
<pre id="chartvault-kit">${lines}</pre>
${details.qrSvg ? `<div class="qr"><p>The same block as a QR code:</p>${details.qrSvg}</div>` : ''}
<h2>Backup targets</h2>
<ul>${targets}</ul>
<h2>Restore steps (on any machine, even a new one)</h2>
<ol>
<li>Install Node.js 20 or newer and ChartVault (see docs/operations.md, "Install").</li>
<li>Connect one backup target (plug in the backup disk, or reach the receiver or bucket).</li>
<li>Save this page as <code>kit.html</code>, or type the block above into a text file <code>kit.txt</code>
(spaces in the key do not matter; the key check catches a typo).</li>
<li>Run <code>chartvault backup verify --from TARGET --kit kit.html</code> to see the snapshots and check them.</li>
<li>Run <code>chartvault restore --from TARGET --kit kit.html --data NEW-DATA-DIR --key-dir NEW-KEY-DIR</code>
(add <code>--snapshot ID</code> for an older snapshot). It makes a new store with a new data key.</li>
<li>Run <code>chartvault serve --data NEW-DATA-DIR --key-dir NEW-KEY-DIR</code>.</li>
<li>If this kit was lost or stolen: on the server run <code>chartvault kit --rotate</code> when available,
or follow docs/operations.md "Backups": new backup key, new kit, new target.</li>
</ol>
</body>
</html>
`;
}

/** Reads a kit (the HTML page or its block typed as text); `where` names the file in messages. */
export function parseKit(text: string, where: string): RecoveryKit {
  const field = (name: string) => new RegExp(`^\\s*${name}:\\s*([^\\n<]*)`, 'mi').exec(text)?.[1]?.trim();
  if (!/CHARTVAULT RECOVERY KIT/.test(text))
    throw new BackupError(`${where} is not a ChartVault recovery kit.`);
  const kitFormat = Number(field('kit-format'));
  if (kitFormat !== 1)
    throw new BackupError(
      `${where} is a recovery kit of format ${field('kit-format')}; this ChartVault reads format 1.`,
    );
  const backupFormat = Number(field('backup-format'));
  if (!(backupFormat <= FORMAT_VERSION))
    throw new BackupError(
      `${where} is for backup format ${field('backup-format')}; this ChartVault reads up to ${FORMAT_VERSION}: upgrade ChartVault.`,
    );
  const storeId = field('store-id') ?? '';
  if (!/^[0-9a-f-]{36}$/i.test(storeId))
    throw new BackupError(`${where}: the store-id line is missing or damaged.`);
  const hex = (field('backup-key') ?? '').replace(/\s+/g, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex))
    throw new BackupError(`${where}: the backup-key line is not 64 hexadecimal characters.`);
  const backupKey = Buffer.from(hex, 'hex');
  if (keyCheck(backupKey) !== field('key-check')?.toLowerCase())
    throw new BackupError(`${where}: the backup key does not match its key check: a character was mistyped.`);
  return { storeId: storeId.toLowerCase(), backupKey };
}
