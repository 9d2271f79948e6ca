/**
 * Setting up downtime copies from the command line, as the practice's point person does: passphrase,
 * locations, exports to them, status, a passphrase change, and serve taking over the schedule.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { tempFolder } from '../testStore.ts';
import { chartvault, CLI } from '../cli.ts';

const folder = tempFolder('chartvault-downtime-cli-');
const data = join(folder.path, 'data');
const keyDir = join(folder.path, 'keys');
const frontDesk = join(folder.path, 'front-desk');
const usb = join(folder.path, 'usb');
const firstPassphrase = join(folder.path, 'first.txt');
const secondPassphrase = join(folder.path, 'second.txt');

/** The command with this test's key folder. */
const run = (...args: string[]) => chartvault(...args, '--key-dir', keyDir);

const copies = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('chartvault-downtime-'));

before(() => {
  const demo = run('demo', '--data', data, '--no-serve', '--time-zone', 'UTC', '--patients', '40');
  assert.equal(demo.status, 0, demo.stderr);
  mkdirSync(frontDesk);
  mkdirSync(usb);
  writeFileSync(firstPassphrase, 'copper kettle winter garden\n', { mode: 0o600 });
  writeFileSync(secondPassphrase, 'a much longer passphrase for the new year\n', { mode: 0o600 });
});

after(() => folder.remove());

test('export without a passphrase or a destination says what to pass', () => {
  const result = run('downtime', 'export', '--data', data);
  assert.equal(result.status, 1);
  assert.match(
    result.stderr,
    /No downtime passphrase: pass --passphrase-file FILE, or run "chartvault downtime setup"/,
  );
});

test('setup keeps the locations and a wrapped key, never the passphrase', () => {
  const bad = run('downtime', 'setup', '--data', data, '--passphrase-file', firstPassphrase, '--days', '40');
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--days must be a whole number from 1 to 14, not "40"/);
  const result = run(
    'downtime',
    'setup',
    '--data',
    data,
    '--passphrase-file',
    firstPassphrase,
    '--location',
    frontDesk,
    usb,
    '--days',
    '2',
    '--clinic-hours',
    '8-18',
  );
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /serve exports hourly 8:00-18:00 and at 2:00 \(UTC\); next at /);
  const settingsFile = join(data, 'downtime.json');
  const text = readFileSync(settingsFile, 'utf8');
  assert.ok(!text.includes('copper'), 'the passphrase is not stored');
  assert.equal(statSync(settingsFile).mode & 0o777, 0o600);
  assert.deepEqual(JSON.parse(text).locations, [frontDesk, usb]);
});

test('export writes a copy to every location; status reports them', () => {
  for (let i = 0; i < 2; i++) {
    const result = run('downtime', 'export', '--data', data);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /2 clinic day\(s\)/);
    // Copy names have a one-second resolution.
    execFileSync('sleep', ['1.1']);
  }
  assert.equal(copies(frontDesk).length, 2);
  assert.equal(copies(usb).length, 2);
  const status = run('downtime', 'status', '--data', data);
  assert.equal(status.status, 0);
  assert.match(status.stdout, new RegExp(`${frontDesk}: 2 current copies, newest 0\\.0 h old`));
});

test('the same passphrase again keeps the copies; another one is refused for the locations', () => {
  const again = run('downtime', 'setup', '--data', data, '--passphrase-file', firstPassphrase);
  assert.equal(again.status, 0, again.stderr);
  assert.doesNotMatch(again.stdout, /New downtime passphrase/);
  const byHand = run('downtime', 'export', '--data', data, '--passphrase-file', firstPassphrase);
  assert.equal(byHand.status, 0, byHand.stderr);
  assert.doesNotMatch(byHand.stdout, /removed/);
  assert.equal(copies(frontDesk).length, 3);
  const other = run('downtime', 'export', '--data', data, '--passphrase-file', secondPassphrase);
  assert.equal(other.status, 1);
  assert.match(other.stderr, /not the passphrase set up for the downtime locations; pass --out FILE/);
  assert.equal(copies(frontDesk).length, 3);
  execFileSync('sleep', ['1.1']);
});

test('a new passphrase: the next export removes every copy the old one opens', () => {
  const setup = run('downtime', 'setup', '--data', data, '--passphrase-file', secondPassphrase);
  assert.equal(setup.status, 0, setup.stderr);
  assert.match(setup.stdout, /the next export replaces every copy at the downtime locations/);
  const status = run('downtime', 'status', '--data', data);
  assert.match(status.stdout, /3 made with an old passphrase \(removed at the next export\)/);
  const result = run('downtime', 'export', '--data', data);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /removed 3 older copies/);
  assert.equal(copies(frontDesk).length, 1);
  assert.equal(copies(usb).length, 1);
});

test('a location that is not mounted fails alone (exit 3), the others are written', () => {
  const unplugged = join(folder.path, 'unplugged');
  assert.equal(run('downtime', 'setup', '--data', data, '--location', frontDesk, unplugged).status, 0);
  const result = run('downtime', 'export', '--data', data);
  assert.equal(result.status, 3);
  assert.match(result.stderr, /FAILED .*unplugged: .*does not exist \(is the disk or share mounted\?\)/);
});

test('serve takes over: it announces the next scheduled downtime copy', async () => {
  const server = spawn(
    'node',
    [CLI, 'serve', '--data', data, '--key-dir', keyDir, '--port', '0', '--insecure-http'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      server.stdout!.on('data', (chunk) => {
        out += chunk;
        const match = /downtime copies to 2 location\(s\); next at (\S+)/.exec(out);
        if (match) resolve(match[1]);
      });
      server.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
    });
    const next = new Date(line);
    assert.ok(next.getTime() > Date.now() && next.getTime() - Date.now() <= 24 * 3_600_000);
    assert.equal(next.getUTCMinutes(), 0);
    assert.ok(next.getUTCHours() === 2 || (next.getUTCHours() >= 8 && next.getUTCHours() < 18));
  } finally {
    server.kill('SIGTERM');
  }
});
