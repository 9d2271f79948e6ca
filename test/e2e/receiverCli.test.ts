/**
 * The append-only receiver through the command line, as an operator runs it on two machines: a demo
 * practice, a receiver in its own process, pairing with the code and fingerprint it prints, two
 * backups with a change between them, verify with the kit, the practice server's own credential used
 * to overwrite and delete (refused, alarmed), and restores from the receiver and from its export.
 */
import assert from 'node:assert/strict';
import { type ChildProcess } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { connectionOf, findPairing } from '../../src/backup/receiver/index.ts';
import { ReceiverTarget } from '../../src/backup/receiverTarget.ts';
import { openStore } from '../../src/store/index.ts';
import { grepFor, ok, pairBackup, pairingCodeIn, startReceiver, restoreInto } from '../backupHelpers.ts';
import { chartvault, stopProcess } from '../cli.ts';
import { tempFolder } from '../testStore.ts';

const folder = tempFolder('chartvault-receiver-cli-');
const FAMILY = 'Oosterwijkhaverkamp';
const children: ChildProcess[] = [];
after(async () => {
  await Promise.all(children.map(stopProcess));
  folder.remove();
});

test('demo practice backed up to a receiver in another process: pair, two runs, verify, refused tampering, restore', async () => {
  const data = join(folder.path, 'data');
  const keys = join(folder.path, 'keys');
  const kit = join(folder.path, 'kit.html');
  const receiverData = join(folder.path, 'receiver');
  ok(chartvault('demo', '--data', data, '--key-dir', keys, '--no-serve', '--patients', '10'));
  ok(chartvault('kit', '--data', data, '--key-dir', keys, '--out', kit));
  const patientFile = join(folder.path, 'patient.json');
  const writePatient = (birthDate: string) => {
    writeFileSync(
      patientFile,
      JSON.stringify({ resourceType: 'Patient', id: 'receiver-1', name: [{ family: FAMILY }], birthDate }),
    );
    ok(chartvault('import', '--data', data, '--key-dir', keys, '--no-progress', patientFile));
  };
  writePatient('1961-01-01');

  const receiver = await startReceiver(receiverData, children);
  const printed = ok(chartvault('receiver', 'pair', '--data', receiverData, '--name', 'Test clinic'));
  const code = pairingCodeIn(printed);
  assert.ok(
    printed.includes(`SHA256 ${receiver.fingerprint}`),
    'pair shows the same fingerprint as the server',
  );

  // A wrong fingerprint stops the pairing before the code is sent; the right one pairs.
  const wrong = pairBackup(data, keys, {
    url: receiver.url,
    code,
    fingerprint: receiver.fingerprint.replace(/^../, receiver.fingerprint.startsWith('00') ? '11' : '00'),
  });
  assert.equal(wrong.status, 1);
  assert.match(wrong.stderr, /not the pinned .* Nothing was sent/);
  const paired = ok(pairBackup(data, keys, { ...receiver, code }));
  const practice = /as practice ([0-9a-f]{16})/.exec(paired)![1]!;
  const reused = pairBackup(data, keys, { ...receiver, code }, '--name', 'again');
  assert.equal(reused.status, 1);
  assert.match(reused.stderr, /already used/);
  const pairing = findPairing(data, 'receiver')!;
  assert.equal(statSync(pairing.keyFile).mode & 0o777, 0o600);
  assert.ok(pairing.keyFile.startsWith(keys));
  assert.doesNotMatch(readFileSync(join(data, 'backup-receivers.json'), 'utf8'), /PRIVATE KEY/);

  const first = ok(chartvault('backup', 'run', '--data', data, '--key-dir', keys, '--to', 'receiver'));
  assert.match(first, new RegExp(`Snapshot [0-9a-f]{12} \\(#1\\) in receiver ${receiver.url}`));
  writePatient('1961-01-02');
  const second = ok(chartvault('backup', 'run', '--data', data, '--key-dir', keys, '--to', receiver.url));
  assert.match(second, /\(#2\) .*: 1 new versions/);
  assert.match(
    ok(chartvault('backup', 'run', '--data', data, '--key-dir', keys, '--to', receiver.url)),
    /No change since snapshot/,
  );

  const verify = ok(
    chartvault(
      'backup',
      'verify',
      '--from',
      receiver.url,
      '--kit',
      kit,
      '--paired-data',
      data,
      '--read-data',
    ),
  );
  assert.match(verify, /^2 snapshots, .* read and decrypted/m);
  assert.match(verify, /Verification passed/);
  const unpaired = chartvault('backup', 'verify', '--from', receiver.url, '--kit', kit);
  assert.equal(unpaired.status, 1);
  assert.match(unpaired.stderr, /--paired-data DIR.*receiver export/);

  // The practice server's own receiver credential, in an attacker's hands: no overwrite, no delete.
  const stolen = new ReceiverTarget(connectionOf(pairing), practice);
  const snapshots = await stolen.list('snapshots/');
  assert.equal(snapshots.length, 2);
  for (const path of snapshots)
    await assert.rejects(stolen.putIfAbsent(path, Buffer.from('encrypted by ransomware')), /not overwritten/);
  stolen.close();
  for (const path of snapshots) {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: new URL(receiver.url).port,
          method: 'DELETE',
          path: `/v1/objects/${path}`,
          cert: pairing.clientCertificate,
          key: readFileSync(pairing.keyFile),
          rejectUnauthorized: false,
          agent: false,
        },
        (res) => {
          res.resume();
          resolve(res.statusCode!);
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 405);
  }
  const status = JSON.parse(ok(chartvault('receiver', 'status', '--data', receiverData, '--json')));
  assert.equal(status.practices.length, 1);
  assert.equal(status.practices[0].id, practice);
  assert.equal(status.practices[0].label, 'Test clinic');
  assert.equal(status.practices[0].snapshots, 2);
  assert.equal(status.practices[0].alarms, 2);
  assert.equal(status.alarms, 2);
  assert.match(ok(chartvault('receiver', 'status', '--data', receiverData)), /ALARMS: 2/);
  assert.match(receiver.output(), /ALARM: practice [0-9a-f]{16}: snapshots\//);
  assert.equal(grepFor(receiverData, FAMILY), '', 'no patient name in the receiver folder');

  // Retention: refused below the minimum; at 30 days nothing that arrived today goes.
  const prune = (...options: string[]) =>
    chartvault('receiver', 'prune', '--data', receiverData, '--practice', practice, ...options);
  const short = prune('--keep-days', '7');
  assert.equal(short.status, 1);
  assert.match(short.stderr, /refuses to keep less than 30 days/);
  assert.match(ok(prune('--keep-days', '30', '--kit', kit)), /Removed 0 objects/);
  assert.match(
    ok(prune('--keep-days', '30', '--kit', kit, '--keep', 'hourly=0,daily=7', '--dry-run')),
    /Would remove 0 objects/,
  );
  const noKit = prune('--keep-days', '30', '--keep', 'daily=7');
  assert.equal(noKit.status, 1);
  assert.match(noKit.stderr, /--keep needs --kit/);

  const opened = openStore(data, keys);
  const counts = await opened.store.countByType();
  await opened.store.close();

  // From the receiver over the network, with the pairing of a store that still has it.
  const viaNetwork = ok(
    restoreInto(
      'receiver',
      kit,
      join(folder.path, 'restored-net'),
      join(folder.path, 'restored-net-keys'),
      '--paired-data',
      data,
    ),
  );
  assert.match(viaNetwork, /Restored snapshot [0-9a-f]{12} \(#2/);

  // On a new machine: the receiver exports the practice to a folder, restore reads it like a disk.
  const exported = join(folder.path, 'export');
  assert.match(
    ok(chartvault('receiver', 'export', '--data', receiverData, '--practice', practice, '--out', exported)),
    /Copied practice [0-9a-f]{16}'s \d+ objects/,
  );
  ok(chartvault('backup', 'verify', '--from', exported, '--kit', kit, '--read-data'));
  const restored = join(folder.path, 'restored');
  const restoredKeys = join(folder.path, 'restored-keys');
  ok(chartvault('restore', '--from', exported, '--kit', kit, '--data', restored, '--key-dir', restoredKeys));
  for (const [dir, keyDir] of [
    [restored, restoredKeys],
    [join(folder.path, 'restored-net'), join(folder.path, 'restored-net-keys')],
  ] as const) {
    const back = openStore(dir, keyDir);
    assert.deepEqual(await back.store.countByType(), counts);
    const patient = await back.store.read('Patient', 'receiver-1');
    assert.equal((patient as { birthDate?: string }).birthDate, '1961-01-02');
    await back.store.close();
  }
});
