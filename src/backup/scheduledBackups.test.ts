/**
 * The backup schedule inside serve, on a real store and real directory targets, with a fast clock
 * tick: snapshots follow changes, a manual run's lock makes the schedule skip its turn, the nightly
 * verification and the weekly drill run once at their time, and a failing target raises an alert.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createTempStore, tempFolder, type TempStore } from '../../test/testStore.ts';
import { readSettings } from '../store/index.ts';
import { acquireBackupLock } from './backupLock.ts';
import { writeBackupSchedule } from './backupSchedule.ts';
import { DirectoryTarget } from './directoryTarget.ts';
import { DEFAULT_RETENTION } from './retention.ts';
import { localClock, startScheduledBackups } from './scheduledBackups.ts';

let temp: TempStore;
const folder = tempFolder('chartvault-schedule-test-');
const target = join(folder.path, 'disk');
const lines: string[] = [];

before(async () => {
  temp = createTempStore();
  await temp.store.update({ resourceType: 'Patient', id: 'p1', birthDate: '1970-01-01' });
});
after(async () => {
  await temp.cleanup();
  folder.remove();
});

const snapshots = () => {
  try {
    // Written snapshots only: a run in progress has a temporary file there too.
    return readdirSync(join(target, 'snapshots')).filter((name) => /^[0-9a-f]{64}$/.test(name)).length;
  } catch {
    return 0;
  }
};

async function until(condition: () => boolean, what: string, ms = 15_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > ms) assert.fail(`timed out waiting for ${what}; log:\n${lines.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function start(
  schedule: { everyMinutes: number; verifyAt: string; drillWeekday: number; drillAt: string },
  targets = [target],
) {
  writeBackupSchedule(temp.dataDir, { targets, keep: DEFAULT_RETENTION, ...schedule });
  return startScheduledBackups({
    store: temp.store,
    dataDir: temp.dataDir,
    keyDir: temp.keyDir,
    storeId: readSettings(temp.dataDir).storeId,
    timeZone: 'UTC',
    openTarget: (spec) => new DirectoryTarget(spec),
    log: (line) => lines.push(line),
    tickMs: 50,
  });
}

test('snapshots follow the changes; a manual run holding the lock makes the schedule skip its turn', async () => {
  const later = {
    verifyAt: '23:59',
    drillWeekday: (localClock(new Date(), 'UTC').weekday + 3) % 7,
    drillAt: '23:59',
  };
  const schedule = start({ everyMinutes: 0.005, ...later }); // every 0.3 s
  try {
    await until(() => snapshots() === 1, 'the first snapshot');
    await temp.store.update({ resourceType: 'Patient', id: 'p2', birthDate: '1980-01-01' });
    await until(() => snapshots() === 2, 'a snapshot of the change');

    // As `chartvault backup run` does; the schedule may hold the lock for a run of its own just now.
    let release: (() => void) | undefined;
    await until(() => {
      try {
        release = acquireBackupLock(temp.dataDir);
        return true;
      } catch {
        return false;
      }
    }, 'the backup lock');
    await temp.store.update({ resourceType: 'Patient', id: 'p3', birthDate: '1990-01-01' });
    await until(() => lines.some((l) => l.includes('a manual backup run holds the lock')), 'a skipped turn');
    assert.equal(snapshots(), 2);
    release!();
    await until(() => snapshots() === 3, 'the snapshot after the lock is released');
    assert.ok(!lines.some((l) => l.includes('verification') || l.includes('drill')), 'not their time yet');
  } finally {
    await schedule.stop();
  }
});

test('the nightly retention and verification and the weekly drill run once at their time, and are kept', async () => {
  const clock = localClock(new Date(), 'UTC');
  const schedule = start({
    everyMinutes: 60,
    verifyAt: '00:00',
    drillWeekday: clock.weekday,
    drillAt: '00:00',
  });
  try {
    await until(() => lines.some((l) => l.includes('weekly restore drill passed')), 'the drill');
    const verified = lines.filter((l) => l.includes('nightly verification of'));
    assert.equal(verified.length, 1, verified.join('\n'));
    assert.match(verified[0]!, /3 snapshots complete/);
    // Retention ran first, audited, and kept all three (taken within the hour: the newest and its chain).
    const actions = temp.store
      .auditEntryTexts(0, Number.MAX_SAFE_INTEGER, 100_000)
      .map(([, entry]) => JSON.parse(entry) as { action: string; detail?: Record<string, unknown> });
    const prune = actions.find((a) => a.action === 'prune');
    assert.deepEqual(prune?.detail, { target, kept: 3, removed: 0, locked: 0 });
    const drills = readFileSync(join(temp.dataDir, 'backup-drills.jsonl'), 'utf8').trim().split('\n');
    assert.equal(drills.length, 1);
    assert.equal(JSON.parse(drills[0]!).outcome, 'passed');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(lines.filter((l) => l.includes('weekly restore drill')).length, 1, 'once a day');
  } finally {
    await schedule.stop();
  }
});

test('a target that fails raises an alert and the others are not held up', async () => {
  const blocked = join(folder.path, 'not-a-folder');
  writeFileSync(blocked, 'a file where the backup folder should be');
  lines.length = 0;
  const schedule = start(
    {
      everyMinutes: 0.005,
      verifyAt: '23:59',
      drillWeekday: (localClock(new Date(), 'UTC').weekday + 3) % 7,
      drillAt: '23:59',
    },
    [blocked, target],
  );
  try {
    await temp.store.update({ resourceType: 'Patient', id: 'p4', birthDate: '2000-01-01' });
    await until(() => snapshots() === 4, 'the snapshot to the working target');
    assert.ok(
      lines.some((l) => l.startsWith(`backup ALERT: the backup to ${blocked} FAILED`)),
      lines.join('\n'),
    );
  } finally {
    await schedule.stop();
  }
});
