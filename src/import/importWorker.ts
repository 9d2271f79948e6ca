/** Worker thread: reads and prepares import files (parse, ids, references, validation, index values). */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parentPort } from 'node:worker_threads';
import { prepareJsonFile, prepareNdjson } from './prepareUnits.ts';

export interface WorkerTask {
  seq: number;
  file: string;
  format: 'json' | 'ndjson';
}

parentPort!.on('message', (task: WorkerTask) => {
  try {
    const text = readFileSync(task.file, 'utf8');
    const name = basename(task.file);
    const prepared = task.format === 'ndjson' ? prepareNdjson(name, text) : prepareJsonFile(name, text);
    parentPort!.postMessage({ seq: task.seq, prepared });
  } catch (error) {
    parentPort!.postMessage({
      seq: task.seq,
      prepared: { units: [], rejected: [{ source: task.file, reason: (error as Error).message }] },
    });
  }
});
