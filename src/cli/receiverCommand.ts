/**
 * `chartvault receiver` (run on the backup machine: serve, pair, status, prune, export) and
 * `chartvault backup pair` (run on the practice server). docs/operations/backup.md walks through it.
 */
import { resolve } from 'node:path';
import {
  createPairingCode,
  DEFAULT_MAX_OBJECT_BYTES,
  displayFingerprint,
  exportPractice,
  PAIRING_MINUTES,
  pairWithReceiver,
  pruneReceiver,
  ReceiverHome,
  receiverStatus,
  startReceiver,
} from '../backup/receiver/index.ts';
import { parseRetention } from '../backup/retention.ts';
import { asCliError, readKitFile } from './backupCommand.ts';
import { CliError } from './main.ts';

const MB = 1024 * 1024;

function parseNumber(text: string, what: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max)
    throw new CliError(`${what} must be a whole number from ${min} to ${max}; got ${text}.`);
  return value;
}

export async function receiverServeCommand(options: {
  data: string;
  port: string;
  host: string;
  maxObjectMb?: string;
}): Promise<void> {
  const port = parseNumber(options.port, '--port', 0, 65535);
  const maxObjectBytes = options.maxObjectMb
    ? parseNumber(options.maxObjectMb, '--max-object-mb', 1, 4096) * MB
    : DEFAULT_MAX_OBJECT_BYTES;
  const receiver = await asCliError(() =>
    startReceiver({ dataDir: options.data, host: options.host, port, maxObjectBytes }),
  );
  const home = new ReceiverHome(options.data);
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  console.log(`ChartVault receiver listening on https://${host}:${receiver.port}`);
  console.log(`Certificate fingerprint SHA256 ${displayFingerprint(receiver.fingerprint)}`);
  console.log(
    `Data in ${home.root}; ${home.practices().length} practice(s) paired. Pair one: chartvault receiver pair --data ${options.data}`,
  );
  const stop = () => {
    void receiver.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

export async function receiverPairCommand(options: {
  data: string;
  name?: string;
  practice?: string;
  replace?: boolean;
}): Promise<void> {
  await asCliError(async () => {
    const home = new ReceiverHome(options.data);
    const { fingerprint } = await home.open();
    if (options.practice) home.practice(options.practice);
    if (options.replace && !options.practice)
      throw new CliError(
        '--replace goes with --practice ID (the practice whose clients the new one replaces).',
      );
    const label = options.name ?? (options.practice ? home.practice(options.practice).label : 'practice');
    const { code, expiresAt } = createPairingCode(home.pairingFolder, {
      label,
      practice: options.practice,
      replace: options.replace,
    });
    console.log(
      `Pairing code (one use, valid ${PAIRING_MINUTES} minutes, until ${expiresAt.toISOString()}):`,
    );
    console.log(`  ${code}`);
    console.log(`Receiver certificate fingerprint:`);
    console.log(`  SHA256 ${displayFingerprint(fingerprint)}`);
    console.log(
      options.practice
        ? `It pairs a new practice server with practice ${options.practice}${options.replace ? ', replacing its earlier ones' : ''}.`
        : `It pairs one practice server (label "${label}").`,
    );
    console.log('On the practice server, with this receiver running, run:');
    console.log(
      `  chartvault backup pair --data DATA --to https://THIS-MACHINE:PORT --code ${code} --fingerprint ${displayFingerprint(fingerprint)}`,
    );
  });
}

export async function receiverStatusCommand(options: { data: string; json?: boolean }): Promise<void> {
  await asCliError(async () => {
    const status = await receiverStatus(options.data);
    if (options.json) {
      console.log(JSON.stringify(status, null, 2));
      return;
    }
    console.log(`Receiver ${status.dataDir}`);
    console.log(`Certificate fingerprint SHA256 ${displayFingerprint(status.fingerprint)}`);
    console.log(
      `Minimum retention ${status.minimumRetentionDays} days; ${status.pendingPairingCodes} pairing code(s) not used yet.`,
    );
    if (status.practices.length === 0) console.log('No practice is paired yet.');
    for (const p of status.practices)
      console.log(
        `practice ${p.id}  "${p.label}"  ${p.objects} objects (${p.snapshots} snapshots), ${(p.bytes / MB).toFixed(2)} MB, ` +
          `last write ${p.lastWrite ?? 'never'}, ${p.clients} client(s), ${p.alarms} alarm(s)`,
      );
    console.log(
      status.alarms === 0
        ? 'Alarms: none.'
        : `ALARMS: ${status.alarms} (last ${status.lastAlarm}); see ${resolve(options.data, 'alarms.log')}. Someone tried to replace backup objects.`,
    );
  });
}

export async function receiverPruneCommand(options: {
  data: string;
  practice: string;
  keepDays: string;
  kit?: string;
  keep?: string;
  dryRun?: boolean;
}): Promise<void> {
  await asCliError(async () => {
    const keepDays = parseNumber(options.keepDays, '--keep-days', 0);
    if (options.keep && !options.kit)
      throw new CliError('--keep needs --kit: without the key the receiver cannot read what snapshots need.');
    const result = await pruneReceiver({
      dataDir: options.data,
      practice: options.practice,
      keepDays,
      policy: options.keep ? parseRetention(options.keep) : undefined,
      kit: options.kit ? readKitFile(options.kit) : undefined,
      dryRun: options.dryRun,
    });
    console.log(
      `Practice ${options.practice}: ${result.objects} objects, ${result.olderThanCutoff} arrived before ${result.cutoff.toISOString()}.`,
    );
    console.log(
      `${options.dryRun ? 'Would remove' : 'Removed'} ${result.removed.length} objects (${(result.bytesRemoved / MB).toFixed(2)} MB): ${result.explanation}`,
    );
  });
}

export async function receiverExportCommand(options: {
  data: string;
  practice: string;
  out: string;
}): Promise<void> {
  await asCliError(async () => {
    const result = await exportPractice(options.data, options.practice, options.out);
    console.log(
      `Copied practice ${options.practice}'s ${result.objects} objects (${(result.bytes / MB).toFixed(2)} MB, ${result.written} new) to ${result.target}.`,
    );
    console.log(
      `Restore from it: chartvault restore --from ${result.target} --kit KIT --data NEWDIR --key-dir NEWKEYS`,
    );
  });
}

export async function backupPairCommand(options: {
  data: string;
  keyDir: string;
  to: string;
  code: string;
  fingerprint: string;
  name?: string;
}): Promise<void> {
  await asCliError(async () => {
    const pairing = await pairWithReceiver({
      dataDir: options.data,
      keyDir: options.keyDir,
      url: options.to,
      code: options.code,
      fingerprint: options.fingerprint,
      name: options.name,
    });
    console.log(
      `Paired with the receiver ${pairing.url} (certificate SHA256 ${displayFingerprint(pairing.fingerprint)}) as practice ${pairing.practice}.`,
    );
    console.log(`Client key: ${pairing.keyFile}`);
    console.log(`Back up to it: chartvault backup run --data ${options.data} --to ${pairing.name}`);
  });
}
