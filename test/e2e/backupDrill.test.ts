/**
 * Restore drills and the backup schedule through the command line: a drill restores the newest
 * snapshot into a throw-away store, checks and times it, removes it, and keeps the result beside the
 * live store; a damaged target fails the drill loudly and touches nothing of the live store. The
 * schedule keeps what serve follows and refuses what it cannot use.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openStore } from '../../src/store/index.ts';
import { chartvault } from '../cli.ts';
import { tempFolder } from '../testStore.ts';

const folder = tempFolder('chartvault-drill-test-');
after(() => folder.remove());

const data = join(folder.path, 'data');
const keys = join(folder.path, 'keys');
const target = join(folder.path, 'target');
const kit = join(folder.path, 'kit.html');
const drills = () =>
  readFileSync(join(data, 'backup-drills.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
/** `chartvault backup drill` of the newest snapshot on the target, beside the live store. */
const runDrill = () =>
  chartvault('backup', 'drill', '--from', target, '--kit', kit, '--data', data, '--key-dir', keys);
const throwAwayStores = () =>
  readdirSync(tmpdir()).filter((name) => name.startsWith('chartvault-drill-')).length;

async function liveCount(): Promise<number> {
  const { store } = openStore(data, keys);
  try {
    return Object.values(await store.countByType()).reduce((a, b) => a + b, 0);
  } finally {
    await store.close();
  }
}

test('a drill restores the newest snapshot into a throw-away store, checks it, times it and keeps the result', async () => {
  const demo = chartvault('demo', '--data', data, '--key-dir', keys, '--no-serve', '--patients', '8');
  assert.equal(demo.status, 0, demo.stderr);
  assert.equal(chartvault('kit', '--data', data, '--key-dir', keys, '--out', kit).status, 0);
  const run = chartvault('backup', 'run', '--data', data, '--key-dir', keys, '--to', target);
  assert.equal(run.status, 0, run.stderr);
  const snapshot = /Snapshot ([0-9a-f]{12})/.exec(run.stdout)![1]!;
  const before = throwAwayStores();

  const drill = runDrill();
  assert.equal(drill.status, 0, drill.stderr);
  const resources = await liveCount();
  assert.match(
    drill.stdout,
    new RegExp(`Drill passed: snapshot ${snapshot} .* ${resources} resources, \\d+ versions, in [\\d.]+ s`),
  );
  assert.equal(throwAwayStores(), before, 'the throw-away store is removed');

  const [record] = drills();
  assert.equal(record.outcome, 'passed');
  assert.equal(record.resources, resources);
  assert.ok(record.snapshot.startsWith(snapshot));
  assert.ok(record.seconds > 0);
  assert.equal(statSync(join(data, 'backup-drills.jsonl')).mode & 0o077, 0, 'readable by the owner only');
});

test('a damaged target fails the drill, says so, and leaves the live store as it was', async () => {
  const resources = await liveCount();
  const packs = join(target, 'packs');
  const dir = join(packs, readdirSync(packs)[0]!);
  const pack = join(dir, readdirSync(dir)[0]!);
  const bytes = readFileSync(pack);
  bytes[bytes.length >> 1]! ^= 0xff;
  writeFileSync(pack, bytes);

  const drill = runDrill();
  assert.notEqual(drill.status, 0);
  assert.match(drill.stderr, /Drill FAILED after [\d.]+ s: .+ Nothing of the live store was touched\./);
  const records = drills();
  assert.equal(records.length, 2);
  assert.equal(records[1].outcome, 'failed');
  assert.ok(records[1].error.length > 0);
  assert.equal(await liveCount(), resources);
});

test('backup schedule keeps the targets and times that serve follows, and refuses what it cannot use', () => {
  const none = chartvault('backup', 'schedule', '--data', data);
  assert.equal(none.status, 0, none.stderr);
  assert.match(none.stdout, /No backup schedule/);
  const set = chartvault(
    'backup',
    'schedule',
    '--data',
    data,
    '--to',
    target,
    '--every',
    '5',
    '--drill',
    'sat 04:15',
  );
  assert.equal(set.status, 0, set.stderr);
  assert.match(set.stdout, /every 5 minute\(s\) to:\n {2}.+target\n/);
  assert.match(set.stdout, /each night at 02:30 .* every saturday at 04:15/);
  for (const [option, value, message] of [
    ['--every', '0', /--every takes whole minutes from 1 to 1440/],
    ['--verify-at', '25:00', /--verify-at takes a local time HH:MM/],
    ['--drill', 'someday 03:00', /--drill takes a day and a local time/],
    ['--to', 'https://nowhere.example:9', /not paired with the receiver|paired/],
  ] as const) {
    const bad = chartvault('backup', 'schedule', '--data', data, option, value);
    assert.notEqual(bad.status, 0, `${option} ${value}`);
    assert.match(bad.stderr, message);
  }
  const kept = chartvault('backup', 'schedule', '--data', data);
  assert.match(kept.stdout, /every 5 minute\(s\)/, 'a refused change leaves the schedule as it was');
  const off = chartvault('backup', 'schedule', '--data', data, '--off');
  assert.match(off.stdout, /No backup schedule/);
});
