/**
 * Backups through the command line, as an operator (and the acceptance checks) use them: a demo
 * practice, a patient with two versions, a backup to a directory, the data directory and its key folder
 * destroyed, a restore with the kit alone, served again.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openStore } from '../../src/store/index.ts';
import { grepFor, restoreInto } from '../backupHelpers.ts';
import { tempFolder } from '../testStore.ts';
import { addClient, chartvault, CLI, startServe, stopProcess } from '../cli.ts';

const folder = tempFolder('chartvault-backup-cli-');
const FAMILY = 'Vandersteenhovenplaats';
// Long and unusual, so that ciphertext cannot contain it by chance (3 letters can: 1 in ~17M per byte).
const GIVEN = 'Idabelquintessa';
const children: ChildProcess[] = [];
after(async () => {
  await Promise.all(children.map(stopProcess));
  folder.remove();
});

async function serve(data: string, keyDir: string): Promise<string> {
  const { base, process } = await startServe(data, keyDir);
  children.push(process);
  return base;
}

/** A new store `<prefix>-data` with its keys, a kit file and a directory target beside it. */
function storeWithKit(prefix: string) {
  const at = (name: string) => join(folder.path, `${prefix}-${name}`);
  const made = { data: at('data'), keys: at('keys'), target: at('target'), kit: at('kit.html') };
  const init = chartvault(
    'init',
    '--data',
    made.data,
    '--key-dir',
    made.keys,
    '--yes',
    '--kit-out',
    made.kit,
  );
  assert.equal(init.status, 0, init.stderr);
  return made;
}

/** Imports (or updates) Patient `<prefix>1` with `family` into that store, then backs it up. */
function patientBackedUp(prefix: string, family: string): void {
  const at = (name: string) => join(folder.path, `${prefix}-${name}`);
  const [data, keys] = [at('data'), at('keys')];
  writeFileSync(
    at('patient.json'),
    JSON.stringify({ resourceType: 'Patient', id: `${prefix}1`, name: [{ family }] }),
  );
  assert.equal(
    chartvault('import', '--data', data, '--key-dir', keys, '--no-progress', at('patient.json')).status,
    0,
  );
  assert.equal(
    chartvault('backup', 'run', '--data', data, '--key-dir', keys, '--to', at('target')).status,
    0,
  );
}

test('init writes the recovery kit where asked, and kit writes it again', () => {
  const data = join(folder.path, 'init-data');
  const keys = join(folder.path, 'init-keys');
  const kit = join(folder.path, 'init-kit.html');
  const init = chartvault('init', '--data', data, '--key-dir', keys, '--yes', '--kit-out', kit);
  assert.equal(init.status, 0, init.stderr);
  assert.match(init.stdout, /recovery kit is in .*init-kit\.html/);
  assert.equal(statSync(kit).mode & 0o777, 0o600);
  const first = readFileSync(kit, 'utf8');
  assert.match(first, /backup-key: [0-9a-f]{4} /);
  assert.match(first, /<svg [^>]*viewBox/, 'the QR code is inline SVG');
  assert.doesNotMatch(first, /<script|src=|href=/, 'self-contained, no script');
  const again = join(folder.path, 'kit-again.html');
  const printed = chartvault('kit', '--data', data, '--key-dir', keys, '--out', again);
  assert.equal(printed.status, 0, printed.stderr);
  const line = (text: string) => /backup-key: .*/.exec(text)![0];
  assert.equal(line(readFileSync(again, 'utf8')), line(first));
  // Without --kit-out: in the key folder, and it says so.
  const other = chartvault(
    'init',
    '--data',
    join(folder.path, 'd2'),
    '--key-dir',
    join(folder.path, 'k2'),
    '--yes',
  );
  assert.equal(other.status, 0, other.stderr);
  const where = /recovery kit is in (\S+)\./.exec(other.stdout)![1]!;
  assert.ok(where.startsWith(join(folder.path, 'k2')) && existsSync(where));
});

test('demo practice, a patient with two versions, backup, data and keys destroyed, restore with the kit alone', async () => {
  const data = join(folder.path, 'data');
  const keys = join(folder.path, 'keys');
  const target = join(folder.path, 'target');
  const kit = join(folder.path, 'kit.html');
  const demo = chartvault('demo', '--data', data, '--key-dir', keys, '--no-serve', '--patients', '15');
  assert.equal(demo.status, 0, demo.stderr);
  assert.match(
    demo.stdout,
    /recovery kit \(backup key and restore steps\) is in .*keys\/[0-9a-f-]{36}\.recovery-kit\.html/,
  );
  const patient = join(folder.path, 'patient.json');
  const write = (birthDate: string) => {
    writeFileSync(
      patient,
      JSON.stringify({
        resourceType: 'Patient',
        id: 'backup-test-1',
        name: [{ family: FAMILY, given: [GIVEN] }],
        birthDate,
      }),
    );
    const imported = chartvault('import', '--data', data, '--key-dir', keys, '--no-progress', patient);
    assert.equal(imported.status, 0, imported.stderr);
  };
  write('1950-03-04');
  write('1950-03-05');
  assert.equal(chartvault('kit', '--data', data, '--key-dir', keys, '--out', kit).status, 0);
  // A registered system and its secret, issued before the disaster.
  const client = addClient(data, keys, 'system/*.rs');

  const run = chartvault('backup', 'run', '--data', data, '--key-dir', keys, '--to', target);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /Snapshot [0-9a-f]{12} \(#1\)/);
  const again = chartvault('backup', 'run', '--data', data, '--key-dir', keys, '--to', target);
  assert.match(again.stdout, /No change since snapshot/);
  assert.equal(grepFor(target, FAMILY), '');
  assert.equal(grepFor(target, GIVEN), '');

  const opened = openStore(data, keys);
  const counts = await opened.store.countByType();
  const liveChain = await opened.store.auditEntriesAfter(0, 1_000_000);
  await opened.store.close();
  const verifiedBefore = chartvault('audit', 'verify', '--data', data, '--key-dir', keys);
  assert.equal(verifiedBefore.status, 0, verifiedBefore.stderr);
  rmSync(data, { recursive: true });
  rmSync(keys, { recursive: true });

  const verify = chartvault('backup', 'verify', '--from', target, '--kit', kit, '--read-data');
  assert.equal(verify.status, 0, verify.stderr);
  assert.match(verify.stdout, /Verification passed/);

  const restored = join(folder.path, 'restored');
  const newKeys = join(folder.path, 'new-keys');
  const restore = restoreInto(target, kit, restored, newKeys);
  assert.equal(restore.status, 0, restore.stderr);
  const reopened = openStore(restored, newKeys);
  assert.deepEqual(await reopened.store.countByType(), counts);
  // The audit chain of before the disaster is there, entry for entry, then the restore. (Each backup
  // run records itself after its snapshot: the live chain's last entries are those runs' own.)
  const restoredChain = await reopened.store.auditEntriesAfter(0, 1_000_000);
  await reopened.store.close();
  const restoreEntry = restoredChain.at(-1)!;
  assert.equal(JSON.parse(restoreEntry.entry).action, 'restore');
  const lastRestored = restoredChain.at(-2)!;
  const live = liveChain[lastRestored.seq - 1]!;
  assert.deepEqual(
    [live.seq, live.hash.toString('hex')],
    [lastRestored.seq, lastRestored.hash.toString('hex')],
  );
  assert.deepEqual(
    liveChain.slice(lastRestored.seq).map((e) => JSON.parse(e.entry).action),
    ['backup', 'backup'],
  );
  const verified = chartvault('audit', 'verify', '--data', restored, '--key-dir', newKeys);
  assert.equal(verified.status, 0, verified.stderr);
  assert.match(verified.stdout, new RegExp(`Audit chain intact: ${restoreEntry.seq} entries`));

  const base = await serve(restored, newKeys);
  // The client's secret of before the disaster still gets a token from the restored server.
  const token = await fetch(`${new URL(base).origin}/oauth/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
    },
    body: 'grant_type=client_credentials',
  });
  assert.equal(token.status, 200, await token.clone().text());
  const issued = (await token.json()) as { scope: string; access_token: string };
  assert.equal(issued.scope, 'system/*.rs');
  const auth = { authorization: `Bearer ${issued.access_token}` };
  const history = (await (
    await fetch(`${base}/Patient/backup-test-1/_history`, { headers: auth })
  ).json()) as any;
  assert.deepEqual(history.entry.map((e: any) => e.resource.birthDate).sort(), ['1950-03-04', '1950-03-05']);
  const current = (await (await fetch(`${base}/Patient/backup-test-1`, { headers: auth })).json()) as any;
  assert.equal(current.meta.versionId, '2');
  const found = (await (await fetch(`${base}/Patient?family=${FAMILY}`, { headers: auth })).json()) as any;
  assert.equal(found.entry.length, 1);

  // The restored store carries on in the same target, while it serves: same history, same chain; its
  // first snapshot holds the restore's audit entry and the reads since.
  const same = chartvault('backup', 'run', '--data', restored, '--key-dir', newKeys, '--to', target);
  assert.equal(same.status, 0, same.stderr);
  assert.match(same.stdout, /\(#2\) .*: 0 new versions, \d+ audit entries/);
  const thirdVersion = {
    resourceType: 'Patient',
    id: 'backup-test-1',
    name: [{ family: FAMILY }],
    birthDate: '1950-03-06',
  };
  writeFileSync(patient, JSON.stringify(thirdVersion));
  const third = chartvault('import', '--data', restored, '--key-dir', newKeys, '--no-progress', patient);
  assert.equal(third.status, 0, third.stderr);
  const next = chartvault('backup', 'run', '--data', restored, '--key-dir', newKeys, '--to', target);
  assert.equal(next.status, 0, next.stderr);
  assert.match(next.stdout, /\(#3\) .* 1 new versions/);
});

test('verify names a damaged object; a wrong kit and a second concurrent run get clear errors', () => {
  const { data, keys, target, kit } = storeWithKit('v');
  patientBackedUp('v', FAMILY);

  // Another run holds the lock (a live process id in the lock file).
  const holder = spawn('sleep', ['30']);
  children.push(holder);
  writeFileSync(join(data, 'backup.lock'), `${holder.pid}\n`);
  const locked = chartvault('backup', 'run', '--data', data, '--key-dir', keys, '--to', target);
  assert.equal(locked.status, 1);
  assert.match(locked.stderr, /Another backup of this store is running/);
  holder.kill();
  rmSync(join(data, 'backup.lock'));

  const otherKit = join(folder.path, 'o-kit.html');
  assert.equal(
    chartvault(
      'init',
      '--data',
      join(folder.path, 'o'),
      '--key-dir',
      join(folder.path, 'ok'),
      '--yes',
      '--kit-out',
      otherKit,
    ).status,
    0,
  );
  const wrong = restoreInto(target, otherKit, join(folder.path, 'w'), join(folder.path, 'wk'));
  assert.equal(wrong.status, 1);
  assert.match(wrong.stderr, /another practice/);
  assert.equal(existsSync(join(folder.path, 'w')), false);

  const [pack] = readdirSync(join(target, 'packs'), { recursive: true, encoding: 'utf8' }).filter((p) =>
    /[0-9a-f]{64}$/.test(p),
  );
  const file = join(target, 'packs', pack!);
  const bytes = readFileSync(file);
  bytes[40] ^= 0x80;
  chmodSync(file, 0o644);
  writeFileSync(file, bytes);
  const verify = chartvault('backup', 'verify', '--from', target, '--kit', kit, '--read-data');
  assert.equal(verify.status, 1);
  assert.match(verify.stderr, new RegExp(`${pack!.split('/').pop()}: does not authenticate`));
  assert.match(verify.stderr, /verification failed: 1 problem/);
});

test('kill -9 during a snapshot leaves no listed half snapshot, and the next run completes and verifies', async () => {
  const data = join(folder.path, 'k-data');
  const keys = join(folder.path, 'k-keys');
  const kit = join(folder.path, 'k-kit.html');
  assert.equal(chartvault('init', '--data', data, '--key-dir', keys, '--yes', '--kit-out', kit).status, 0);
  const opened = openStore(data, keys);
  // Enough versions for several packs (20,000 versions at most each).
  for (let batch = 0; batch < 5; batch++)
    await opened.store.writeBatch(
      Array.from({ length: 10000 }, (_, i) => ({
        kind: 'put' as const,
        resource: { resourceType: 'Basic', id: `b${batch}-${i}`, code: { text: `item ${i}` } },
      })),
    );
  await opened.store.close();

  let killed = false;
  const target = join(folder.path, 'k-target');
  for (let attempt = 0; attempt < 3 && !killed; attempt++) {
    rmSync(target, { recursive: true, force: true });
    const run = spawn('node', [CLI, 'backup', 'run', '--data', data, '--key-dir', keys, '--to', target], {
      stdio: 'ignore',
    });
    children.push(run);
    const exited = new Promise((resolve) => run.on('exit', resolve));
    let done = false;
    void exited.then(() => (done = true));
    while (!done) {
      const packs = existsSync(join(target, 'packs'))
        ? readdirSync(join(target, 'packs'), { recursive: true, encoding: 'utf8' }).filter((p) =>
            /[0-9a-f]{64}$/.test(p),
          )
        : [];
      if (packs.length > 0) {
        run.kill('SIGKILL');
        killed =
          !existsSync(join(target, 'snapshots')) || readdirSync(join(target, 'snapshots')).length === 0;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await exited;
  }
  assert.ok(killed, 'a run was killed after writing a pack and before its manifest');
  rmSync(join(data, 'backup.lock'), { force: true }); // as a killed run leaves it (taken over anyway)

  const half = chartvault('backup', 'verify', '--from', target, '--kit', kit);
  assert.equal(half.status, 1);
  assert.match(half.stderr, /holds no snapshot yet/);
  const next = chartvault('backup', 'run', '--data', data, '--key-dir', keys, '--to', target);
  assert.equal(next.status, 0, next.stderr);
  assert.match(next.stdout, /50000 new versions/);
  const verify = chartvault('backup', 'verify', '--from', target, '--kit', kit, '--read-data');
  assert.equal(verify.status, 0, verify.stderr);
  assert.doesNotMatch(verify.stdout, /unreferenced/, 'the killed run wrote the same packs, now used');
});

test('backup prune applies the retention to a directory target: a stray from an interrupted run goes, every snapshot of the last hours stays; bad rules and receivers get clear errors', () => {
  const { data, keys, target, kit } = storeWithKit('p');
  for (const family of [FAMILY, `${FAMILY}e`]) patientBackedUp('p', family);
  // An object a killed run left (its name a keyed hash like any other), written before the last snapshot.
  const strayName = 'ab'.repeat(32);
  const stray = join(target, 'packs', 'ab', strayName);
  mkdirSync(join(target, 'packs', 'ab'), { recursive: true });
  writeFileSync(stray, 'left by an interrupted run');
  const hourAgo = new Date(Date.now() - 3_600_000);
  utimesSync(stray, hourAgo, hourAgo);

  const prune = (...options: string[]) =>
    chartvault('backup', 'prune', '--data', data, '--key-dir', keys, ...options);
  const dry = prune('--to', target, '--dry-run');
  assert.equal(dry.status, 0, dry.stderr);
  assert.match(dry.stdout, /Retention: hourly for 48 hours, daily for 30 days, weekly for 12 weeks/);
  assert.match(
    dry.stdout,
    /2 snapshots, 2 kept by the retention; would remove 0 snapshots and 1 data objects/,
  );
  assert.ok(existsSync(stray), 'a dry run removes nothing');
  const pruned = prune('--to', target);
  assert.equal(pruned.status, 0, pruned.stderr);
  assert.match(pruned.stdout, /removed 0 snapshots and 1 data objects/);
  assert.equal(existsSync(stray), false);
  const verify = chartvault('backup', 'verify', '--from', target, '--kit', kit, '--read-data');
  assert.equal(verify.status, 0, verify.stderr);
  assert.match(verify.stdout, /2 snapshots/);
  const audit = chartvault('audit', 'verify', '--data', data, '--key-dir', keys);
  assert.equal(audit.status, 0, audit.stderr);

  const bad = prune('--to', target, '--keep', 'daily=forever');
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /"daily=forever" is not a retention rule; write e\.g\. hourly=48,daily=30/);
  const schedule = chartvault(
    'backup',
    'schedule',
    '--data',
    data,
    '--to',
    target,
    '--keep',
    'hourly=24,daily=14',
  );
  assert.equal(schedule.status, 0, schedule.stderr);
  assert.match(schedule.stdout, /retention \(hourly for 24 hours, daily for 14 days, weekly for 12 weeks/);
  const receiver = prune('--to', 'https://127.0.0.1:1');
  assert.equal(receiver.status, 1);
  assert.match(receiver.stderr, /not paired with the receiver/);
});
