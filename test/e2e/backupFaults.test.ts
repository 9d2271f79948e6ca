/**
 * Backup faults of issue 5 not covered elsewhere (kill -9 during a snapshot and a flipped byte named
 * by verify are in backupCli.test.ts, an unreachable receiver in src/backup/receiverTarget.test.ts):
 *
 * - Target disk full: a real small disk (a 2 MiB tmpfs mounted in a mount namespace of the test's own,
 *   by fixtures/diskFull.sh; `unshare -m` as root, `unshare -Urm` otherwise), filled by other files
 *   after a first snapshot. The next run fails with an error naming the full disk and exits non-zero;
 *   no half snapshot is listed; the earlier snapshot still verifies and restores; once space is freed
 *   the next run completes and everything verifies.
 * - One flipped byte in an object only the newest snapshot needs: verify names that object, the newest
 *   snapshot refuses to restore and leaves nothing, and the older snapshot still restores in full.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { openStore } from '../../src/store/index.ts';
import { chartvault, CLI } from '../cli.ts';
import { countsOf, ok, restoreInto } from '../backupHelpers.ts';
import { tempFolder } from '../testStore.ts';

const DISK_FULL = fileURLToPath(new URL('./fixtures/diskFull.sh', import.meta.url));
const folder = tempFolder('chartvault-backup-faults-');
const data = join(folder.path, 'data');
const keys = join(folder.path, 'keys');
const kit = join(folder.path, 'kit.html');
after(() => folder.remove());

function patientFile(name: string, id: string, family: string): string {
  const file = join(folder.path, name);
  writeFileSync(file, JSON.stringify({ resourceType: 'Patient', id, name: [{ family }] }));
  return file;
}

before(() => {
  ok(chartvault('demo', '--data', data, '--key-dir', keys, '--no-serve', '--patients', '10'));
  ok(chartvault('kit', '--data', data, '--key-dir', keys, '--out', kit));
});

test('target disk full: a clear error naming it, no half snapshot, the earlier snapshot intact; after freeing space the next run completes', async () => {
  const target = join(folder.path, 'small-disk');
  const results = join(folder.path, 'disk-full-results');
  const restored = join(folder.path, 'restored-from-full');
  const countsBefore = await countsOf(data, keys);
  const asRoot = process.getuid?.() === 0;
  const run = spawnSync(
    'unshare',
    [
      ...(asRoot ? ['--mount'] : ['--user', '--map-root-user', '--mount']),
      'sh',
      DISK_FULL,
      CLI,
      data,
      keys,
      kit,
      target,
      patientFile('full-patient.json', 'disk-full-1', 'Diskfullpatient'),
      restored,
      results,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(
    run.status,
    0,
    `a small disk needs a mount namespace (root, or unprivileged user namespaces): ${run.error?.message ?? ''} ${run.stderr}`,
  );
  const step = (name: string) => ({
    status: Number(readFileSync(join(results, `${name}.rc`), 'utf8')),
    stdout: readFileSync(join(results, `${name}.out`), 'utf8'),
    stderr: readFileSync(join(results, `${name}.err`), 'utf8'),
  });
  const lines = (name: string) => readFileSync(join(results, name), 'utf8').split('\n').filter(Boolean);

  assert.match(ok(step('first')), /Snapshot [0-9a-f]{12} \(#1\)/);
  assert.match(readFileSync(join(results, 'df-full'), 'utf8'), /\s100%\s/, 'the disk was full');
  ok(step('import'));

  const full = step('full');
  assert.equal(full.status, 1, 'a run on a full disk exits non-zero');
  assert.match(full.stderr, /no space left on device/i);
  assert.match(full.stderr, /the target is full/);
  assert.ok(full.stderr.includes(`${target}: ENOSPC`), `the message names the full target: ${full.stderr}`);
  assert.equal(lines('leftovers-after-full').length, 0, 'no half-written temporary file takes the space');
  assert.match(full.stderr, /No snapshot is listed until its manifest is written/);
  assert.doesNotMatch(full.stderr, /\n\s+at .*:\d+:\d+/, 'no stack trace');
  assert.equal(lines('snapshots-after-full').length, 1, 'only the earlier snapshot is listed');

  // Nothing corrupt: the earlier snapshot verifies with every byte read, and restores in full.
  const verifyFull = step('verify-full');
  assert.equal(verifyFull.status, 0, verifyFull.stderr);
  assert.match(verifyFull.stdout, /^1 snapshots, /m);
  assert.match(verifyFull.stdout, /Verification passed/);
  assert.match(ok(step('restore-full')), /Restored snapshot [0-9a-f]{12} \(#1/);
  assert.deepEqual(await countsOf(restored, `${restored}-keys`), countsBefore);

  // Space freed: the next run completes, takes the change, and the target verifies.
  assert.match(ok(step('second')), /Snapshot [0-9a-f]{12} \(#2\) .*: 1 new versions/);
  assert.equal(lines('snapshots-after').length, 2);
  const verify = step('verify');
  assert.equal(verify.status, 0, verify.stderr);
  assert.match(verify.stdout, /^2 snapshots, /m);
  assert.match(verify.stdout, /Verification passed/);
});

test('one flipped byte in a pack only the newest snapshot needs: verify names it, the older snapshot still restores in full', async () => {
  const target = join(folder.path, 'flip-target');
  const packsOf = () =>
    new Set(
      readdirSync(join(target, 'packs'), { recursive: true, encoding: 'utf8' }).filter((p) =>
        /[0-9a-f]{64}$/.test(p),
      ),
    );
  const first = ok(chartvault('backup', 'run', '--data', data, '--key-dir', keys, '--to', target));
  const firstId = /Snapshot ([0-9a-f]{12}) \(#1\)/.exec(first)![1]!;
  const countsAtFirst = await countsOf(data, keys);
  const packsAtFirst = packsOf();
  ok(
    chartvault(
      'import',
      '--data',
      data,
      '--key-dir',
      keys,
      '--no-progress',
      patientFile('flip-patient.json', 'flip-1', 'Flippedbytepatient'),
    ),
  );
  const second = ok(chartvault('backup', 'run', '--data', data, '--key-dir', keys, '--to', target));
  const secondId = /Snapshot ([0-9a-f]{12}) \(#2\)/.exec(second)![1]!;
  const newPacks = [...packsOf()].filter((p) => !packsAtFirst.has(p));
  assert.ok(newPacks.length > 0, 'the second snapshot wrote packs of its own');

  const victim = newPacks[0]!;
  const file = join(target, 'packs', victim);
  const bytes = readFileSync(file);
  bytes[bytes.length >> 1]! ^= 0x01;
  chmodSync(file, 0o644);
  writeFileSync(file, bytes);

  const verify = chartvault('backup', 'verify', '--from', target, '--kit', kit, '--read-data');
  assert.equal(verify.status, 1);
  assert.match(verify.stderr, new RegExp(`${victim.split('/').pop()}: does not authenticate`));
  assert.match(verify.stderr, /verification failed: 1 problem/);

  // The newest snapshot needs the damaged pack: a clear refusal, nothing left behind.
  const latest = join(folder.path, 'flip-latest');
  const refused = restoreInto(target, kit, latest, `${latest}-keys`, '--snapshot', secondId);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /does not authenticate/);
  assert.equal(existsSync(latest), false, 'no partial restore');

  // The older snapshot does not need it: restored in full, its audit chain intact.
  const older = join(folder.path, 'flip-older');
  assert.match(
    ok(restoreInto(target, kit, older, `${older}-keys`, '--snapshot', firstId)),
    new RegExp(`Restored snapshot ${firstId} \\(#1`),
  );
  assert.deepEqual(await countsOf(older, `${older}-keys`), countsAtFirst);
  const { store } = openStore(older, `${older}-keys`);
  await assert.rejects(store.read('Patient', 'flip-1'), 'the later patient is not in the older snapshot');
  await store.close();
  ok(chartvault('audit', 'verify', '--data', older, '--key-dir', `${older}-keys`));
});
