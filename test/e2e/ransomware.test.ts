/**
 * The ransomware scenario of issue 5, end to end through the command line. A demo practice backs up
 * twice to a local folder and to an append-only receiver running as its own process. Then an
 * "attacker" process on the practice server (fixtures/ransomwareAttacker.ts) reads the practice's
 * receiver credential, overwrites every file of the data directory and the key folder with random
 * bytes, deletes the local backup folder, and uses that credential to delete and overwrite every
 * object on the receiver: all refused, and alarmed. On a "new machine" the receiver's export and the
 * recovery kit alone bring back every resource and version of the last snapshot; the audit chain
 * verifies; the receiver's folder holds no patient name.
 *
 * Separate host: where `ip netns add` works (root, or CAP_NET_ADMIN), the receiver runs in a network
 * namespace of its own, reached over a veth pair on a private /30, as a second machine on the LAN
 * would be. Where it does not, the receiver runs as a separate process on 127.0.0.1, and the test
 * says which in its output.
 */
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { openStore } from '../../src/store/index.ts';
import {
  grepFor,
  ok,
  pairBackup,
  pairingCodeIn,
  startReceiver,
  type ReceiverProcess,
} from '../backupHelpers.ts';
import { chartvault } from '../cli.ts';
import { tempFolder } from '../testStore.ts';

const ATTACKER = fileURLToPath(new URL('./fixtures/ransomwareAttacker.ts', import.meta.url));
const folder = tempFolder('chartvault-ransomware-');
// Long and unusual, so that ciphertext cannot contain it by chance.
const FAMILY = 'Zwanenburgerhoeksma';
const children: ChildProcess[] = [];
let namespace: string | undefined;
after(() => {
  for (const child of children) child.kill('SIGKILL');
  if (namespace) spawnSync('ip', ['netns', 'del', namespace]);
  folder.remove();
});

/**
 * A network namespace with its own address, joined to this one by a veth pair: a second host. Returns
 * the command prefix that runs a program there and the address it has, or undefined when this machine
 * does not allow it.
 */
function separateHost(): { prefix: string[]; host: string } | undefined {
  const tag = randomBytes(3).toString('hex');
  const name = `cv-rw-${tag}`;
  if (spawnSync('ip', ['netns', 'add', name]).status !== 0) return undefined;
  namespace = name;
  // 10.213.X.Y/30 with X, Y from the tag: unlikely to meet another run's or the machine's routes.
  const x = parseInt(tag.slice(0, 2), 16);
  const y = parseInt(tag.slice(2, 4), 16) & 0xfc;
  const [outside, inside] = [`10.213.${x}.${y + 1}`, `10.213.${x}.${y + 2}`];
  const steps = [
    ['link', 'add', `cvh${tag}`, 'type', 'veth', 'peer', 'name', `cvr${tag}`],
    ['link', 'set', `cvr${tag}`, 'netns', name],
    ['addr', 'add', `${outside}/30`, 'dev', `cvh${tag}`],
    ['link', 'set', `cvh${tag}`, 'up'],
    ['-n', name, 'addr', 'add', `${inside}/30`, 'dev', `cvr${tag}`],
    ['-n', name, 'link', 'set', `cvr${tag}`, 'up'],
    ['-n', name, 'link', 'set', 'lo', 'up'],
  ];
  for (const step of steps) {
    const done = spawnSync('ip', step, { encoding: 'utf8' });
    if (done.status !== 0) {
      console.log(`ip ${step.join(' ')} failed (${done.stderr.trim()}); receiver on 127.0.0.1 instead`);
      spawnSync('ip', ['netns', 'del', name]);
      namespace = undefined;
      return undefined;
    }
  }
  return { prefix: ['ip', 'netns', 'exec', name], host: inside };
}

function startReceiverElsewhere(data: string): Promise<ReceiverProcess> {
  const where = separateHost();
  console.log(
    where
      ? `receiver in network namespace ${namespace} at ${where.host}`
      : 'ip netns not allowed here: receiver as a separate process on 127.0.0.1',
  );
  return startReceiver(data, children, { host: where?.host, prefix: where?.prefix });
}

/** Every version of every resource, as the store holds it: what a restore must give back. */
async function everyVersion(data: string, keys: string) {
  const { store } = openStore(data, keys);
  try {
    const page = await store.history({ count: 1_000_000, offset: 0 });
    assert.equal(page.versions.length, page.total);
    const digest = createHash('sha256');
    const lines = page.versions
      .map(
        (v) => `${v.resourceType}/${v.id}/${v.versionId} ${v.method} ${JSON.stringify(v.resource ?? null)}`,
      )
      .sort();
    for (const line of lines) digest.update(line + '\n');
    const patient = await store.history({ resourceType: 'Patient', id: 'rw-1', count: 100, offset: 0 });
    return {
      counts: await store.countByType(),
      versions: lines.length,
      digest: digest.digest('hex'),
      patientHistory: patient.versions.map((v) => [v.versionId, v.method, v.resource]),
    };
  } finally {
    await store.close();
  }
}

test('ransomware on the practice server: data, keys and local backups destroyed, receiver refuses the stolen credential, the kit and the receiver restore everything', async () => {
  const data = join(folder.path, 'data');
  const keys = join(folder.path, 'keys');
  const kit = join(folder.path, 'kit.html');
  const localTarget = join(folder.path, 'usb-disk');
  const receiverData = join(folder.path, 'receiver');
  ok(chartvault('demo', '--data', data, '--key-dir', keys, '--no-serve', '--patients', '10'));
  ok(chartvault('kit', '--data', data, '--key-dir', keys, '--out', kit));
  const importJson = (name: string, resource: object) => {
    const file = join(folder.path, name);
    writeFileSync(file, JSON.stringify(resource));
    ok(chartvault('import', '--data', data, '--key-dir', keys, '--no-progress', file));
  };
  const patient = (birthDate: string) => ({
    resourceType: 'Patient',
    id: 'rw-1',
    name: [{ family: FAMILY, given: ['Hendrikje'] }],
    birthDate,
  });
  importJson('p1.json', patient('1948-07-01'));

  const receiver = await startReceiverElsewhere(receiverData);
  const printed = ok(chartvault('receiver', 'pair', '--data', receiverData, '--name', 'Ransomware clinic'));
  const code = pairingCodeIn(printed);
  const paired = ok(pairBackup(data, keys, { ...receiver, code }));
  const practice = /as practice ([0-9a-f]{16})/.exec(paired)![1]!;

  const runBoth = (sequence: number) => {
    for (const to of [localTarget, 'receiver'])
      assert.match(
        ok(chartvault('backup', 'run', '--data', data, '--key-dir', keys, '--to', to)),
        new RegExp(`Snapshot [0-9a-f]{12} \\(#${sequence}\\)`),
      );
  };
  runBoth(1);
  // A few more writes: a second version of the patient, a new resource, a deletion.
  importJson('p2.json', patient('1948-07-02'));
  importJson('obs.json', {
    resourceType: 'Observation',
    id: 'rw-obs-1',
    status: 'final',
    code: { text: 'body weight' },
    subject: { reference: 'Patient/rw-1' },
    valueQuantity: { value: 61.5, unit: 'kg' },
  });
  {
    const { store } = openStore(data, keys);
    await store.delete('Observation', 'rw-obs-1');
    await store.close();
  }
  importJson('obs2.json', {
    resourceType: 'Observation',
    id: 'rw-obs-2',
    status: 'final',
    code: { text: 'body height' },
    subject: { reference: 'Patient/rw-1' },
    valueQuantity: { value: 165, unit: 'cm' },
  });
  runBoth(2);
  const before = await everyVersion(data, keys);
  assert.equal(before.patientHistory.length, 2);
  assert.ok(before.counts.Patient! >= 11 && before.counts.Observation! > 0);

  // The attack, by another process on the server.
  const attack = spawnSync('node', ['--import', 'tsx', ATTACKER, data, keys, localTarget], {
    encoding: 'utf8',
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
  });
  assert.equal(attack.status, 0, attack.stderr);
  const report = JSON.parse(attack.stdout) as {
    overwritten: number;
    listStatus: number;
    objects: string[];
    attempts: { method: string; object: string; status: number; error: string }[];
  };
  assert.ok(report.overwritten >= 5, `${report.overwritten} files overwritten`);
  assert.equal(existsSync(localTarget), false, 'the local backup folder is gone');
  const broken = chartvault('audit', 'verify', '--data', data, '--key-dir', keys);
  assert.notEqual(broken.status, 0, 'the live store is unreadable after the attack');
  assert.equal(report.listStatus, 200, 'the stolen credential can read the list');
  assert.ok(report.objects.includes('config'));
  assert.equal(report.objects.filter((o) => o.startsWith('snapshots/')).length, 2);
  assert.equal(report.attempts.length, report.objects.length * 2);
  for (const attempt of report.attempts) {
    if (attempt.method === 'DELETE') {
      assert.equal(attempt.status, 405, `DELETE ${attempt.object}`);
      assert.match(attempt.error, /never deletes or replaces objects/);
    } else {
      assert.equal(attempt.status, 409, `PUT ${attempt.object}`);
      assert.match(attempt.error, /not overwritten.*alarm/);
    }
  }
  const status = JSON.parse(ok(chartvault('receiver', 'status', '--data', receiverData, '--json')));
  assert.equal(status.practices[0].id, practice);
  assert.equal(status.practices[0].snapshots, 2);
  assert.equal(status.practices[0].alarms, report.objects.length, 'one alarm per refused overwrite');
  assert.equal(status.alarms, report.objects.length);
  // Its console says so too (read once this process's event loop has taken the pipe's data).
  for (let waited = 0; !/ALARM: .*snapshots\//.test(receiver.output()) && waited < 5000; waited += 50)
    await new Promise((resolve) => setTimeout(resolve, 50));
  assert.match(receiver.output(), /ALARM: practice [0-9a-f]{16}: snapshots\//);

  // A new machine: the receiver's export on a disk, the paper kit, nothing else of the old server.
  const exported = join(folder.path, 'export');
  ok(chartvault('receiver', 'export', '--data', receiverData, '--practice', practice, '--out', exported));
  const verify = ok(chartvault('backup', 'verify', '--from', exported, '--kit', kit, '--read-data'));
  assert.match(verify, /^2 snapshots, /m);
  const restored = join(folder.path, 'new-machine', 'data');
  const restoredKeys = join(folder.path, 'new-machine', 'keys');
  assert.match(
    ok(
      chartvault('restore', '--from', exported, '--kit', kit, '--data', restored, '--key-dir', restoredKeys),
    ),
    /Restored snapshot [0-9a-f]{12} \(#2/,
  );
  const after = await everyVersion(restored, restoredKeys);
  assert.deepEqual(after.counts, before.counts, 'counts per type');
  assert.deepEqual(after.patientHistory, before.patientHistory, "the patient's history");
  assert.equal(after.versions, before.versions, 'every version, deletions included');
  assert.equal(after.digest, before.digest, 'every version identical');
  const audit = chartvault('audit', 'verify', '--data', restored, '--key-dir', restoredKeys);
  assert.equal(audit.status, 0, audit.stderr);
  assert.match(audit.stdout, /Audit chain intact/);
  assert.equal(grepFor(receiverData, FAMILY), '', 'no patient name in the receiver folder');
  assert.equal(grepFor(exported, FAMILY), '', 'no patient name in the export');
});
