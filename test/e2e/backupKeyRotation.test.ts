/**
 * A lost or stolen recovery kit: `keys rotate-backup` makes a new backup key and kit. Snapshots then
 * go to new targets that the old kit cannot open; the old targets refuse the new key and still open
 * with the old kit.
 */
import assert from 'node:assert/strict';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { chartvault } from '../cli.ts';
import { restoreInto } from '../backupHelpers.ts';
import { tempFolder } from '../testStore.ts';

const folder = tempFolder('chartvault-backup-key-rotation-');
after(() => folder.remove());

test('after rotate-backup, new snapshots go to new targets that only the new kit opens', () => {
  const data = join(folder.path, 'data');
  const keys = join(folder.path, 'keys');
  const at = ['--data', data, '--key-dir', keys];
  const [oldKit, newKit] = [join(folder.path, 'kit-1.html'), join(folder.path, 'kit-2.html')];
  const [oldTarget, newTarget] = [join(folder.path, 'disk-1'), join(folder.path, 'disk-2')];
  assert.equal(chartvault('init', ...at, '--yes', '--kit-out', oldKit).status, 0);
  const patient = join(folder.path, 'patient.json');
  writeFileSync(
    patient,
    JSON.stringify({ resourceType: 'Patient', id: 'kit-test', birthDate: '1960-06-06' }),
  );
  assert.equal(chartvault('import', ...at, '--no-progress', patient).status, 0);
  assert.equal(chartvault('backup', 'run', ...at, '--to', oldTarget).status, 0);

  const rotated = chartvault('keys', 'rotate-backup', ...at, '--kit-out', newKit);
  assert.equal(rotated.status, 0, rotated.stderr);
  assert.match(
    rotated.stdout,
    /Made a new backup key .*; the old one is kept aside as .*\.backup\.key\.retired-/,
  );
  assert.match(rotated.stdout, /Back up to NEW targets/);
  const retired = readdirSync(keys).find((name) => name.includes('.backup.key.retired-'))!;
  assert.equal(statSync(join(keys, retired)).mode & 0o077, 0, 'the old key stays owner-only');

  const toOld = chartvault('backup', 'run', ...at, '--to', oldTarget);
  assert.notEqual(toOld.status, 0, 'the old target refuses the new key');
  assert.match(
    toOld.stderr,
    /written under an earlier backup key \(after keys rotate-backup, back up to a new target\)/,
  );
  assert.equal(chartvault('backup', 'run', ...at, '--to', newTarget).status, 0);

  assert.equal(chartvault('backup', 'verify', '--from', newTarget, '--kit', newKit).status, 0);
  assert.notEqual(chartvault('backup', 'verify', '--from', newTarget, '--kit', oldKit).status, 0);
  assert.equal(chartvault('backup', 'verify', '--from', oldTarget, '--kit', oldKit).status, 0);
  const stolen = restoreInto(newTarget, oldKit, join(folder.path, 'thief'), join(folder.path, 'thief-keys'));
  assert.notEqual(stolen.status, 0, 'the old kit cannot open what the new key wrote');
  const audit = chartvault('audit', 'verify', ...at);
  assert.equal(audit.status, 0, audit.stderr);
});
