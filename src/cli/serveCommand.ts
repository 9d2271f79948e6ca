/** `chartvault serve`: the FHIR API over a store. */
import { capabilityStatement } from '../http/capabilityStatement.ts';
import { buildServer } from '../http/server.ts';
import { validateResource } from '../fhir/validation/index.ts';
import { openStore, type ResourceStore, type StoreSettings } from '../store/index.ts';
import { startScheduledExports } from '../downtime/index.ts';
import { loadDataKey } from '../store/keyStore.ts';
import { CliError } from './main.ts';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export interface ServeOptions {
  data: string;
  keyDir: string;
  host: string;
  port: string;
  insecureHttp?: boolean;
}

export async function serveCommand(options: ServeOptions): Promise<void> {
  checkListenOptions(options);
  const { store, settings } = openStore(options.data, options.keyDir);
  await serveStore(store, options, { dataDir: options.data, keyDir: options.keyDir, settings });
}

export function checkListenOptions(options: { host: string; port: string; insecureHttp?: boolean }): void {
  if (!LOOPBACK.has(options.host)) {
    throw new CliError(
      `Refusing to listen on ${options.host}: until access control is in place ChartVault serves loopback only (127.0.0.1 or ::1).`,
    );
  }
  if (!options.insecureHttp) {
    throw new CliError(
      'TLS is not available in this version yet; pass --insecure-http to serve plain HTTP on loopback.',
    );
  }
  if (!/^\d+$/.test(options.port) || Number(options.port) > 65535)
    throw new CliError(`--port must be a number from 0 to 65535, not "${options.port}".`);
}

/** Where the served store lives: background jobs (downtime copies) need its folder and key. */
export interface ServedData {
  dataDir: string;
  keyDir: string;
  settings: StoreSettings;
}

export async function serveStore(
  store: ResourceStore,
  options: { host: string; port: string },
  data?: ServedData,
): Promise<void> {
  const app = buildServer({ store });
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
  console.log(`listening on ${address}`);
  console.log(`FHIR API: ${address}/fhir (try ${address}/fhir/metadata)`);
  const downtime = data
    ? startScheduledExports({
        store,
        dataDir: data.dataDir,
        dataKey: loadDataKey(data.keyDir, data.settings.storeId).key,
        storeId: data.settings.storeId,
        timeZone: data.settings.timeZone,
        log: (line) => console.log(line),
      })
    : undefined;
  const stop = async () => {
    downtime?.stop();
    await app.close();
    await store.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** Loads the FHIR definitions before the first request rather than during it (about a second). */
function warmUp(): void {
  capabilityStatement();
  validateResource({ resourceType: 'Patient' });
}
