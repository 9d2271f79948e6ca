/**
 * Worker thread: reads and prepares import files (parse, ids, references, validation, index values,
 * serialization). A prepared file goes back serialized in a transferred buffer: the main thread keeps
 * it outside its JavaScript heap until its turn to be written (see `importer.ts`).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { serialize } from 'node:v8';
import { parentPort } from 'node:worker_threads';
import { prepareJsonFile, prepareNdjson, type PreparedFile } from './prepareUnits.ts';

export interface WorkerTask {
  seq: number;
  file: string;
  format: 'json' | 'ndjson';
}

export interface WorkerResult {
  seq: number;
  /** The PreparedFile, serialized with `v8.serialize`. */
  prepared: ArrayBuffer;
}

parentPort!.on('message', (task: WorkerTask) => {
  let prepared: PreparedFile;
  try {
    const text = readFileSync(task.file, 'utf8');
    const name = basename(task.file);
    prepared = task.format === 'ndjson' ? prepareNdjson(name, text) : prepareJsonFile(name, text);
  } catch (error) {
    prepared = { units: [], rejected: [{ source: task.file, reason: (error as Error).message }] };
  }
  const bytes = serialize(prepared);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const result: WorkerResult = { seq: task.seq, prepared: buffer };
  parentPort!.postMessage(result, [buffer]);
});
