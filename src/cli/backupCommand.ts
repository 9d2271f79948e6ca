/** `chartvault backup run`, `backup verify` and `backup prune`. */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  BackupError,
  runBackup,
  DirectoryTarget,
  parseKit,
  shortId,
  TargetConflict,
  verifyTarget,
  type BackupTarget,
  type RecoveryKit,
} from '../backup/index.ts';
import { commandLineAgent } from '../audit/index.ts';
import { isDataDirectory, openStore } from '../store/index.ts';
import { pairedReceiverTarget } from '../backup/receiverTarget.ts';
import { nightlySample, type ReadSample } from '../backup/verify.ts';
import { describePrune, runPrune } from '../backup/prune.ts';
import { describeRetention, parseRetention } from '../backup/retention.ts';
import { readBackupSchedule } from '../backup/backupSchedule.ts';
import { openS3Target, readS3Settings, rememberS3Settings, s3SettingsFrom } from '../backup/s3Settings.ts';
import { CliError } from './main.ts';
import { openCommandAuditTrail } from './commandAuditTrail.ts';

const FILE_ERRORS = new Map([
  ['ENOSPC', 'the target is full'],
  ['EDQUOT', 'the target is over its quota'],
  ['EACCES', 'no permission'],
  ['EPERM', 'no permission'],
  ['EROFS', 'the target is read-only'],
  ['ENOTDIR', 'a path component is not a folder'],
  ['EIO', 'input/output error: check the disk'],
]);

/** Backup failures, and file errors of a target, become one-line CLI errors. */
export async function asCliError<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof BackupError || error instanceof TargetConflict) throw new CliError(error.message);
    const code = (error as NodeJS.ErrnoException).code;
    if (code && FILE_ERRORS.has(code))
      throw new CliError(
        `${(error as Error).message} (${FILE_ERRORS.get(code)}). No snapshot is listed until its manifest is written, so nothing half-written counts as a backup.`,
      );
    throw error;
  }
}

/** The --s3-* options of the command being run (main.ts sets them before its action). */
let s3CommandLine: Parameters<typeof s3SettingsFrom>[0] = {};
export function useS3Options(options: Parameters<typeof s3SettingsFrom>[0]): void {
  s3CommandLine = options;
}

/**
 * A target from the command line: an S3 bucket (s3://BUCKET/PREFIX, with the --s3-* options given now
 * or remembered in the data directory `pairedData` unless `remember` is false), a receiver (its https address, or the name it was
 * paired under, using the pairing kept in `pairedData`), else a directory.
 */
export function openTarget(spec: string, pairedData?: string, remember = true): BackupTarget {
  if (/^s3:\/\//i.test(spec)) {
    const given = s3SettingsFrom(s3CommandLine);
    const store = pairedData && isDataDirectory(pairedData) ? pairedData : undefined;
    const settings = { ...(store ? readS3Settings(store, spec) : {}), ...given };
    if (store && remember && Object.keys(given).length > 0) rememberS3Settings(store, spec, settings);
    // The lock keeping extends what the retention the store applies keeps.
    return openS3Target(spec, settings, store ? readBackupSchedule(store)?.keep : undefined);
  }
  const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(spec);
  if (pairedData && (isUrl || /^[a-z][a-z0-9-]*$/.test(spec))) {
    const receiver = pairedReceiverTarget(pairedData, spec);
    if (receiver) return receiver;
  }
  if (/^https:\/\//i.test(spec))
    throw new CliError(
      pairedData
        ? `${resolve(pairedData)} is not paired with the receiver ${spec}; pair it first: chartvault backup pair --data ${pairedData} --to ${spec} --code CODE --fingerprint FP.`
        : `${spec}: a receiver is reached through a paired store: add --paired-data DIR (a data directory paired with it). ` +
            'On a new machine, copy the backups on the receiver instead (chartvault receiver export --practice ID --out DIR) and use --from DIR.',
    );
  if (spec === 'receiver' && !existsSync(spec))
    throw new CliError(
      `No receiver is paired with ${pairedData ? resolve(pairedData) : 'this command'}; pair first (chartvault backup pair) or give the receiver's https address.`,
    );
  if (isUrl)
    throw new CliError(
      `${spec}: a target is a directory (a path to a folder or mounted disk), a receiver (https://HOST:PORT) or an S3 bucket (s3://BUCKET/PREFIX).`,
    );
  return new DirectoryTarget(spec);
}

/** `--sample N%`: tonight's share of a rotation that reads every pack once in 100/N nights. */
function readSample(text: string, readData?: boolean): ReadSample {
  const percent = Number(text.replace(/%$/, ''));
  if (!readData) throw new CliError('--sample chooses which packs --read-data reads; add --read-data.');
  if (!(percent > 0 && percent <= 100))
    throw new CliError(`--sample takes a share of the packs from 1% to 100%, e.g. 10%, not "${text}".`);
  return nightlySample(percent);
}

export function readKitFile(file: string): RecoveryKit {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new CliError(`Cannot read the recovery kit ${resolve(file)}.`);
  }
  return parseKit(text, resolve(file));
}

const mb = (bytes: number) =>
  bytes < 1024 * 1024 ? `${bytes} bytes` : `${(bytes / 1024 / 1024).toFixed(2)} MB`;

export async function backupRunCommand(options: { data: string; keyDir: string; to: string }): Promise<void> {
  await asCliError(async () => {
    const target = openTarget(options.to, options.data);
    const { store, settings } = openStore(options.data, options.keyDir);
    const trail = await openCommandAuditTrail(store, settings, options);
    try {
      const result = await runBackup({
        store,
        dataDir: options.data,
        keyDir: options.keyDir,
        storeId: settings.storeId,
        target,
        agent: commandLineAgent(),
      });
      if (result.unchanged) {
        console.log(
          `No change since snapshot ${shortId(result.name)}; nothing written to ${target.description}.`,
        );
        return;
      }
      const resources = Object.values(result.manifest.resources).reduce((a, b) => a + b, 0);
      console.log(
        `Snapshot ${shortId(result.name)} (#${result.manifest.sequence}) in ${target.description}: ` +
          `${result.versions} new versions, ${result.auditEntries} audit entries, ${resources} resources in the store; ` +
          `${result.objectsWritten} objects, ${mb(result.bytesWritten)} written in ${result.seconds.toFixed(2)} s.`,
      );
    } finally {
      await trail.close();
      await store.close();
    }
  });
}

export async function backupVerifyCommand(options: {
  from: string;
  kit: string;
  pairedData?: string;
  readData?: boolean;
  sample?: string;
}): Promise<void> {
  await asCliError(async () => {
    const started = performance.now();
    const sample = options.sample === undefined ? undefined : readSample(options.sample, options.readData);
    const kit = readKitFile(options.kit);
    const target = openTarget(options.from, options.pairedData);
    const report = await verifyTarget(target, kit, options.readData === true, sample);
    for (const s of report.snapshots)
      console.log(
        `${s.ok ? 'ok     ' : 'BROKEN '} ${shortId(s.name)}  #${s.sequence}  ${s.createdAt}  ${s.resources} resources, ${s.versions} versions, ${s.auditEntries} audit entries, ${s.records} accounts and clients`,
      );
    const seconds = ((performance.now() - started) / 1000).toFixed(2);
    console.log(
      `${report.snapshots.length} snapshots, ${report.packsChecked} packs ${options.readData ? `present, ${sample ? `tonight's share (${sample.night + 1} of ${sample.nights}): ` : ''}${report.packsRead} read and decrypted (${mb(report.bytesRead)})` : 'present with their sizes'}` +
        `${report.unreferencedPacks ? `, ${report.unreferencedPacks} unreferenced packs (left by an interrupted run; harmless)` : ''} in ${seconds} s.`,
    );
    if (report.snapshots.length === 0 && report.problems.length === 0)
      throw new CliError(`${target.description} holds no snapshot yet.`);
    if (report.problems.length > 0) {
      for (const problem of report.problems) console.error(`problem: ${problem}`);
      throw new CliError(
        `verification failed: ${report.problems.length} problem(s) in ${target.description}.`,
      );
    }
    console.log('Verification passed.');
  });
}

export async function backupPruneCommand(options: {
  data: string;
  keyDir: string;
  to: string;
  keep?: string;
  dryRun?: boolean;
}): Promise<void> {
  await asCliError(async () => {
    const policy = options.keep
      ? parseRetention(options.keep)
      : (readBackupSchedule(options.data)?.keep ?? parseRetention(''));
    // Not remembered: S3 is pruned with a key of its own, never to be used by the backup runs.
    const target = openTarget(options.to, options.data, false);
    if (!target.remove)
      throw new CliError(
        `${target.description} does not allow deletion: a receiver applies retention on its own machine (chartvault receiver prune --kit KIT).`,
      );
    const { store, settings } = openStore(options.data, options.keyDir);
    const trail = await openCommandAuditTrail(store, settings, options);
    try {
      const report = await runPrune({
        store,
        dataDir: options.data,
        keyDir: options.keyDir,
        storeId: settings.storeId,
        target,
        policy,
        agent: commandLineAgent(),
        dryRun: options.dryRun === true,
      });
      console.log(`Retention: ${describeRetention(policy)}.`);
      console.log(`${target.description}: ${describePrune(report, options.dryRun === true)}`);
    } finally {
      await trail.close();
      await store.close();
    }
  });
}
