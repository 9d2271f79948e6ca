/** `chartvault restore --patient ID`: one chart brought back into the live store as new versions. */
import { commandLineAgent } from '../audit/index.ts';
import { restorePatient, shortId } from '../backup/index.ts';
import { openStore } from '../store/index.ts';
import { asCliError, openTarget, readKitFile } from './backupCommand.ts';
import { CliError } from './main.ts';
import { parseTime } from './restoreCommand.ts';
import { openCommandAuditTrail } from './commandAuditTrail.ts';

export async function restorePatientCommand(options: {
  patient: string;
  from: string;
  kit: string;
  data: string;
  keyDir: string;
  at?: string;
  snapshot?: string;
  pairedData?: string;
  dryRun?: boolean;
}): Promise<void> {
  await asCliError(async () => {
    if (!/^[A-Za-z0-9\-.]{1,64}$/.test(options.patient))
      throw new CliError(
        `--patient takes a patient id (letters, digits, - and ., up to 64), not "${options.patient}".`,
      );
    const at = options.at ? parseTime(options.at, options.snapshot) : undefined;
    const kit = readKitFile(options.kit);
    const target = openTarget(options.from, options.pairedData ?? options.data);
    const { store, settings } = openStore(options.data, options.keyDir);
    const trail = await openCommandAuditTrail(store, settings, options);
    const agent = commandLineAgent();
    try {
      const result = await restorePatient({
        target,
        kit,
        live: store,
        patientId: options.patient,
        at,
        snapshot: options.snapshot,
        agent,
        dryRun: options.dryRun,
      });
      await store.appendAudit({
        agent,
        action: 'restore-patient',
        outcome: 'success',
        patients: [options.patient],
        detail: {
          from: target.description,
          snapshot: result.snapshot.name,
          restored: result.restored.length,
          ...(options.dryRun ? { dryRun: 1 } : {}),
        },
      });
      const m = result.snapshot.manifest;
      console.log(
        `${options.dryRun ? 'Would restore' : 'Restored'} Patient/${options.patient} from snapshot ${shortId(result.snapshot.name)} ` +
          `(taken ${m.createdAt}): ${result.restored.length} resources ${options.dryRun ? 'would be' : 'were'} written back as new versions, ` +
          `${result.unchanged} were already as they were then.`,
      );
      for (const key of result.restored)
        console.log(`  ${options.dryRun ? 'would restore' : 'restored'} ${key}`);
      if (result.newer.length > 0) {
        console.log(
          `${result.newer.length} resources of this chart were made after the snapshot and are kept as they are:`,
        );
        for (const key of result.newer) console.log(`  kept ${key}`);
      }
    } finally {
      await trail.close();
      await store.close();
    }
  });
}
