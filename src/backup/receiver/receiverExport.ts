/**
 * The recovery path for a practice whose server (and so its pairing) is gone: on the receiver's
 * machine, copy one practice's objects into a folder or a disk, under the directory target's
 * write-once rules. `chartvault restore --from THAT-FOLDER --kit KIT` then reads it like any directory
 * target. The copy is byte for byte; the receiver needs no key for it and learns nothing from it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DirectoryTarget } from '../directoryTarget.ts';
import { PracticeObjects } from './practiceObjects.ts';
import { ReceiverHome } from './receiverHome.ts';

export async function exportPractice(
  dataDir: string,
  practice: string,
  out: string,
): Promise<{ objects: number; written: number; bytes: number; target: string }> {
  const home = new ReceiverHome(dataDir);
  home.requireExisting();
  home.practice(practice);
  const folder = home.objectsFolder(practice);
  const target = new DirectoryTarget(out);
  let written = 0;
  let bytes = 0;
  const objects = await new PracticeObjects(folder).all();
  // The config first and manifests last, as a snapshot run writes them: a copy stopped half-way never
  // lists a snapshot whose packs are not there yet.
  const order = (path: string) => (path === 'config' ? 0 : path.startsWith('snapshots/') ? 2 : 1);
  objects.sort((a, b) => order(a.path) - order(b.path));
  for (const object of objects) {
    const content = await readFile(join(folder, object.path));
    if ((await target.putIfAbsent(object.path, content)) === 'written') written++;
    bytes += content.length;
  }
  return { objects: objects.length, written, bytes, target: target.root };
}
