/**
 * Worker thread of `audit verify`: checks the links of one range of the chain on a read connection of
 * its own (see auditLinkCheck.ts) and posts the first problem found, if any, once it has closed it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { LinkChecker, type LinkProblem, type LinkTask } from './auditLinkCheck.ts';
import { openConnection } from './connection.ts';

const task = workerData as LinkTask;
let result: { problem?: LinkProblem; error?: string };
try {
  const db = openConnection(task.file, Buffer.from(task.key), { create: false });
  try {
    result = { problem: new LinkChecker(db).check(task.afterSeq, task.throughSeq) };
  } finally {
    db.close();
  }
} catch (error) {
  result = { error: (error as Error).message };
}
parentPort!.postMessage(result);
