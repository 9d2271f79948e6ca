/** `chartvault serve`: the FHIR API over a store, over HTTPS unless plain HTTP on loopback is asked for. */
import { capabilityStatement } from '../http/capabilityStatement.ts';
import { loadOrCreateTokenKeys } from '../access/index.ts';
import { buildServer } from '../http/server.ts';
import { ensureTlsCredentials, expiryWarning, tlsFiles, TlsError, type TlsCredentials } from '../http/tls.ts';
import { validateResource } from '../fhir/validation/index.ts';
import {
  openStore,
  readOnlyStore,
  SqliteStore,
  type ResourceStore,
  type StoreSettings,
} from '../store/index.ts';
import { readBackupSchedule, restoreSnapshot, shortId, startScheduledBackups } from '../backup/index.ts';
import { asCliError, openTarget, readKitFile } from './backupCommand.ts';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { startScheduledExports } from '../downtime/index.ts';
import { loadDataKey } from '../store/keyStore.ts';
import { AuditTrail } from '../audit/index.ts';
import { CliError } from './main.ts';
import { keyRotationEntry } from './keysCommand.ts';
import { recoverInterruptedStoreKeyRotation } from './storeKeyRotation.ts';

export interface ServeOptions {
  data: string;
  keyDir: string;
  host: string;
  port: string;
  insecureHttp?: boolean;
  /** Answer reads, refuse every change (an emergency copy). */
  readOnly?: boolean;
  /** Restore this target's newest snapshot into --data first (with --kit), then serve it read-only. */
  fromBackup?: string;
  kit?: string;
  pairedData?: string;
}

const READ_ONLY_REASON =
  'This server is a read-only emergency copy (chartvault serve --read-only): it shows the records, and changes wait for the restored server.';

export async function serveCommand(options: ServeOptions): Promise<void> {
  checkListenOptions(options);
  if (options.fromBackup) await restoreForEmergency(options);
  const recovery = recoverInterruptedStoreKeyRotation(options.data, options.keyDir, (line) =>
    console.log(line),
  );
  const opened = openStore(options.data, options.keyDir);
  const { settings } = opened;
  const store = options.readOnly ? readOnlyStore(opened.store, READ_ONLY_REASON) : opened.store;
  if (options.readOnly) console.log('read-only: reads are answered and audited; every change is refused.');
  let tls: TlsCredentials | undefined;
  try {
    if (recovery) await store.appendAudit(keyRotationEntry('data-key', 'success', { recovery }));
    if (!options.insecureHttp)
      tls = await storeTls(options.data, options.keyDir, settings.storeId, (line) => console.log(line));
  } catch (error) {
    await store.close();
    throw error;
  }
  await serveStore(store, { ...options, tls }, { dataDir: options.data, keyDir: options.keyDir, settings });
}

/** `--from-backup`: the newest snapshot restored into a new --data with every check, before serving. */
async function restoreForEmergency(options: ServeOptions): Promise<void> {
  if (!options.readOnly)
    throw new CliError('--from-backup serves an emergency copy, which is read-only: add --read-only.');
  if (!options.kit) throw new CliError('--from-backup needs the recovery kit: add --kit FILE.');
  const kit = readKitFile(options.kit);
  const target = openTarget(options.fromBackup!, options.pairedData);
  console.log(`Restoring the newest snapshot from ${target.description} into ${resolve(options.data)} ...`);
  const result = await asCliError(() =>
    restoreSnapshot({ target, kit, dataDir: options.data, keyDir: options.keyDir }),
  );
  console.log(
    `Restored snapshot ${shortId(result.snapshot.name)} (taken ${result.snapshot.manifest.createdAt}): ` +
      `${result.resources} resources in ${result.seconds.toFixed(1)} s.`,
  );
}

/** 127.0.0.0/8, ::1 and localhost: reachable from this machine only. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export function checkListenOptions(options: { host: string; port: string; insecureHttp?: boolean }): void {
  const loopback = isLoopback(options.host);
  if (options.insecureHttp && !loopback) {
    throw new CliError(
      `Refusing plain HTTP on ${options.host}: --insecure-http is for loopback only (127.0.0.1, ::1 or localhost), ` +
        'such as a reverse proxy on this machine; without it ChartVault serves HTTPS.',
    );
  }
  if (!/^\d+$/.test(options.port) || Number(options.port) > 65535)
    throw new CliError(`--port must be a number from 0 to 65535, not "${options.port}".`);
}

/** The store's certificate and key, made on first use for a store that predates TLS. */
export async function storeTls(
  dataDir: string,
  keyDir: string,
  storeId: string,
  log: (line: string) => void,
): Promise<TlsCredentials> {
  try {
    return await ensureTlsCredentials(tlsFiles(dataDir, keyDir, storeId), log);
  } catch (error) {
    if (error instanceof TlsError) throw new CliError(error.message);
    throw error;
  }
}

/** Where the served store lives: background jobs (downtime copies) need its folder and key. */
export interface ServedData {
  dataDir: string;
  keyDir: string;
  settings: StoreSettings;
}

export async function serveStore(
  store: ResourceStore,
  options: { host: string; port: string; tls?: TlsCredentials; readOnly?: boolean },
  data?: ServedData,
): Promise<string> {
  // Access tokens are signed with a key kept in the key folder, so that they outlive a restart.
  const tokenKeys = data ? loadOrCreateTokenKeys(data.keyDir, data.settings.storeId) : undefined;
  const app = buildServer({ store, tls: options.tls, tokenKeys });
  warmUp();
  let address: string;
  try {
    address = await app.listen({ host: options.host, port: Number(options.port) });
  } catch (error) {
    await store.close();
    if ((error as { code?: string }).code === 'EADDRINUSE') {
      throw new CliError(
        `Port ${options.port} on ${options.host} is already in use; pass --port with another port, or --port 0 for any free one.`,
      );
    }
    throw error;
  }
  // fastify names a loopback address for 0.0.0.0 or ::; say where the server really listens.
  if (!isLoopback(options.host)) {
    const bound = app.addresses()[0] as AddressInfo;
    const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
    address = `${options.tls ? 'https' : 'http'}://${host}:${bound.port}`;
  }
  console.log(`listening on ${address}`);
  if (options.tls) {
    console.log(`TLS certificate SHA-256 fingerprint: ${options.tls.fingerprint}`);
    const warning = expiryWarning(options.tls);
    if (warning) console.log(warning);
  }
  console.log(`FHIR API: ${address}/fhir (try ${address}/fhir/metadata)`);
  const downtime =
    data && !options.readOnly
      ? startScheduledExports({
          store,
          dataDir: data.dataDir,
          dataKey: loadDataKey(data.keyDir, data.settings.storeId).key,
          storeId: data.settings.storeId,
          timeZone: data.settings.timeZone,
          log: (line) => console.log(line),
        })
      : undefined;
  // The audit chain's signed checkpoints and forwarding (docs/audit-chain.md).
  const auditTrail = data
    ? await AuditTrail.open({
        store,
        dataDir: data.dataDir,
        keyDir: data.keyDir,
        storeId: data.settings.storeId,
        forward: true,
        log: (line) => console.log(line),
      })
    : undefined;
  // Backups to the scheduled targets (chartvault backup schedule), verified nightly, drilled weekly.
  // An emergency read-only copy takes no backups and writes no downtime copies of its own.
  const backups =
    data && store instanceof SqliteStore && !options.readOnly
      ? startScheduledBackups({
          store,
          dataDir: data.dataDir,
          keyDir: data.keyDir,
          storeId: data.settings.storeId,
          timeZone: data.settings.timeZone,
          openTarget: (spec) => openTarget(spec, data.dataDir),
          log: (line) => console.log(line),
        })
      : undefined;
  if (data) console.log(scheduleLine(data.dataDir));
  const stop = async () => {
    await backups?.stop();
    downtime?.stop();
    await app.close();
    await auditTrail?.close();
    await store.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return address;
}

/** Loads the FHIR definitions before the first request rather than during it (about a second). */
function warmUp(): void {
  capabilityStatement();
  validateResource({ resourceType: 'Patient' });
}

function scheduleLine(dataDir: string): string {
  try {
    const schedule = readBackupSchedule(dataDir);
    return schedule && schedule.targets.length > 0
      ? `backups every ${schedule.everyMinutes} minute(s) to ${schedule.targets.length} target(s)`
      : 'backups: no schedule (chartvault backup schedule --to TARGET)';
  } catch (error) {
    return `backups: ${(error as Error).message}`;
  }
}
