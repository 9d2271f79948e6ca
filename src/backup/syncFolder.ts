/**
 * Flushes a folder's entries to disk, so a file just linked or renamed into it survives a power cut:
 * used by the directory target and the receiver after each object they store.
 */
import { open } from 'node:fs/promises';

export async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
