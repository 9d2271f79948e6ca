/** `chartvault restore`: a new store from one target and the recovery kit alone. */
import { resolve } from 'node:path';
import { commandLineAgent } from '../audit/index.ts';
import { restoreSnapshot, shortId, snapshotAt } from '../backup/index.ts';
import { openStore } from '../store/index.ts';
import { asCliError, openTarget, readKitFile } from './backupCommand.ts';
import { CliError } from './main.ts';
import { openCommandAuditTrail } from './commandAuditTrail.ts';

export async function restoreCommand(options: {
  from: string;
  kit: string;
  data: string;
  keyDir: string;
  snapshot?: string;
  at?: string;
  pairedData?: string;
}): Promise<void> {
  await asCliError(async () => {
    const kit = readKitFile(options.kit);
    const target = openTarget(options.from, options.pairedData);
    const result = await restoreSnapshot({
      target,
      kit,
      dataDir: options.data,
      keyDir: options.keyDir,
      snapshot: options.at
        ? (await snapshotAt(target, kit, parseTime(options.at, options.snapshot))).name
        : options.snapshot,
    });
    const m = result.snapshot.manifest;
    // The restore is the next entry of the restored chain, signed with the new store's own key; the
    // keys that signed the history before it are kept as earlier keys (docs/audit-chain.md, section 9).
    const { store, settings } = openStore(options.data, options.keyDir);
    try {
      const trail = await openCommandAuditTrail(store, settings, options);
      await store.appendAudit({
        agent: commandLineAgent(),
        action: 'restore',
        outcome: 'success',
        detail: {
          from: target.description,
          snapshot: result.snapshot.name,
          resources: result.resources,
          versions: result.versions,
          auditEntries: result.auditEntries,
          records: result.records,
          ...(result.earlierAuditKeys.length > 0
            ? { earlierAuditKeys: result.earlierAuditKeys.join(',') }
            : {}),
        },
      });
      await trail.close();
    } finally {
      await store.close();
    }
    console.log(
      `Restored snapshot ${shortId(result.snapshot.name)} (#${m.sequence}, taken ${m.createdAt}) into ${resolve(options.data)}: ` +
        `${result.resources} resources, ${result.versions} versions, ${result.auditEntries} audit entries, ` +
        `${result.records} accounts and clients, checked against the snapshot, in ${result.seconds.toFixed(2)} s.`,
    );
    console.log(
      `Its new data key is ${result.keyFile}. Serve it with: chartvault serve --data ${options.data} --key-dir ${options.keyDir}`,
    );
  });
}

/** `--at`: a date and time (ISO 8601; a time without a zone is read in this machine's zone). */
export function parseTime(text: string, snapshot?: string): Date {
  if (snapshot) throw new CliError('Give --at or --snapshot, not both.');
  const time = new Date(text);
  if (Number.isNaN(time.getTime()))
    throw new CliError(`--at takes a date and time such as 2026-11-28T07:40:00Z, not "${text}".`);
  return time;
}
