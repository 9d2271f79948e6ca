/** `chartvault restore`: a new store from one target and the recovery kit alone. */
import { resolve } from 'node:path';
import { restoreSnapshot, shortId } from '../backup/index.ts';
import { asCliError, openTarget, readKitFile } from './backupCommand.ts';

export async function restoreCommand(options: {
  from: string;
  kit: string;
  data: string;
  keyDir: string;
  snapshot?: string;
}): Promise<void> {
  await asCliError(async () => {
    const kit = readKitFile(options.kit);
    const target = openTarget(options.from);
    const result = await restoreSnapshot({
      target,
      kit,
      dataDir: options.data,
      keyDir: options.keyDir,
      snapshot: options.snapshot,
    });
    const m = result.snapshot.manifest;
    console.log(
      `Restored snapshot ${shortId(result.snapshot.name)} (#${m.sequence}, taken ${m.createdAt}) into ${resolve(options.data)}: ` +
        `${result.resources} resources, ${result.versions} versions, checked against the snapshot, in ${result.seconds.toFixed(2)} s.`,
    );
    console.log(
      `Its new data key is ${result.keyFile}. Serve it with: chartvault serve --data ${options.data} --key-dir ${options.keyDir}`,
    );
  });
}
