import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempFolder } from '../../test/testStore.ts';
import { DirectoryTarget } from './directoryTarget.ts';
import { targetContract } from './targetContract.ts';

targetContract('directory', async () => {
  const folder = tempFolder('chartvault-target-');
  return { target: new DirectoryTarget(join(folder.path, 'target')), cleanup: async () => folder.remove() };
});

test('directory target: objects are stored read-only and no temporary file is left', async () => {
  const folder = tempFolder('chartvault-target-');
  try {
    const target = new DirectoryTarget(folder.path);
    await target.putIfAbsent('packs/ab/x', Buffer.from('one'));
    assert.equal(statSync(join(folder.path, 'packs/ab/x')).mode & 0o222, 0);
    assert.deepEqual(readdirSync(join(folder.path, 'packs/ab')), ['x']);
  } finally {
    folder.remove();
  }
});
