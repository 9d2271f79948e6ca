/**
 * Backup status: which disk a target is on (read from mountinfo and sysfs: here from files laid out
 * as the kernel lays them out, since this machine has no removable disk), which copy counts as
 * offline, how old each copy is, and what the practice should do next.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { tempFolder } from '../../test/testStore.ts';
import { backupStatus } from './backupStatus.ts';
import { rememberSnapshot } from './backupState.ts';
import { recordDrill } from './drill.ts';
import { diskOf } from './removableDisk.ts';

const folder = tempFolder('chartvault-status-test-');
after(() => folder.remove());

/** A mountinfo and a /sys/dev/block with a USB stick, a SATA disk marked removable, and a fixed disk. */
function fakeSystem() {
  const root = join(folder.path, 'sys');
  const devices = join(root, 'devices');
  const usbDisk = join(devices, 'pci0000:00/0000:00:14.0/usb2/2-1/host6/block/sdb');
  const sataDisk = join(devices, 'pci0000:00/ata2/host1/block/sdc');
  const fixedDisk = join(devices, 'pci0000:00/virtio2/block/vda');
  for (const [disk, removable] of [
    [usbDisk, '0'],
    [sataDisk, '1'],
    [fixedDisk, '0'],
  ] as const) {
    mkdirSync(join(disk, `${disk.slice(-3)}1`), { recursive: true });
    writeFileSync(join(disk, 'removable'), `${removable}\n`);
    writeFileSync(join(disk, `${disk.slice(-3)}1`, 'partition'), '1\n');
  }
  const devBlock = join(root, 'dev-block');
  mkdirSync(devBlock);
  symlinkSync(join(usbDisk, 'sdb1'), join(devBlock, '8:17'));
  symlinkSync(join(sataDisk, 'sdc1'), join(devBlock, '8:33'));
  symlinkSync(join(fixedDisk, 'vda1'), join(devBlock, '253:1'));
  const mountinfo = join(root, 'mountinfo');
  writeFileSync(
    mountinfo,
    [
      '25 1 253:1 / / rw,relatime - ext4 /dev/vda1 rw',
      '40 25 8:17 / /media/usb\\040stick rw,nosuid - exfat /dev/sdb1 rw',
      '41 25 8:33 / /mnt/rotating rw - ext4 /dev/sdc1 rw',
      '42 25 0:51 / /mnt/nas rw - cifs //nas/backups rw',
    ].join('\n'),
  );
  return { mountinfo, devBlock };
}

test('the disk of a folder: USB and removable disks are told from fixed disks and shares', () => {
  const system = fakeSystem();
  assert.deepEqual(diskOf('/media/usb stick/chartvault', system), {
    mountPoint: '/media/usb stick',
    source: '/dev/sdb1',
    removable: true,
  });
  assert.equal(diskOf('/mnt/rotating/practice/not-made-yet', system)?.removable, true);
  assert.deepEqual(diskOf('/mnt/nas/chartvault', system), {
    mountPoint: '/mnt/nas',
    source: '//nas/backups',
    removable: false,
  });
  assert.equal(diskOf('/var/backups', system)?.removable, false);
  assert.equal(diskOf('/var/backups', { mountinfo: join(folder.path, 'absent'), devBlock: '/' }), undefined);
});

test('status: a removable disk unplugged after its run is the offline copy; age and drills are judged', () => {
  const data = join(folder.path, 'data');
  mkdirSync(data);
  const now = Date.parse('2026-11-29T12:00:00Z');
  const hoursAgo = (h: number) => new Date(now - h * 3_600_000).toISOString();
  assert.match(backupStatus(data, now).findings[0]!, /No backup has been taken/);

  const usb = join(folder.path, 'usb', 'chartvault');
  const nas = join(folder.path, 'nas', 'chartvault');
  mkdirSync(usb, { recursive: true });
  mkdirSync(nas, { recursive: true });
  const snapshot = 'a'.repeat(64);
  // Recorded at the run as a removable disk: here the disk that holds the test folder.
  const usbDisk = { ...diskOf(usb)!, removable: true };
  rememberSnapshot(data, usb, snapshot, { at: hoursAgo(20), snapshot, disk: usbDisk });
  rememberSnapshot(data, nas, snapshot, {
    at: hoursAgo(72),
    snapshot,
    disk: { mountPoint: '/', source: '/dev/vda1', removable: false },
  });

  let status = backupStatus(data, now);
  const byTarget = (path: string) => status.targets.find((t) => t.target === path)!;
  assert.equal(byTarget(usb).copy, 'online', 'still plugged in');
  assert.ok(status.findings.some((f) => f.includes(`${usb} is still connected`)));
  assert.ok(status.findings.some((f) => f.startsWith('No offline, append-only or locked copy')));
  assert.equal(byTarget(nas).fresh, false, '72 hours old');
  assert.equal(byTarget(usb).fresh, true);
  assert.ok(status.findings.some((f) => f.startsWith('No restore drill yet')));

  rememberSnapshot(data, 's3://practice-backups/chartvault', snapshot, { at: hoursAgo(2), snapshot });
  status = backupStatus(data, now);
  assert.equal(byTarget('s3://practice-backups/chartvault').copy, 'immutable');
  assert.ok(
    !status.findings.some((f) => f.startsWith('No offline')),
    'the locked bucket is the immutable copy',
  );

  rmSync(usb, { recursive: true }); // the stick is unplugged
  recordDrill(data, {
    at: hoursAgo(1),
    target: usb,
    outcome: 'passed',
    snapshot,
    resources: 10,
    versions: 12,
    seconds: 1.5,
  });
  status = backupStatus(data, now);
  assert.equal(byTarget(usb).copy, 'offline');
  assert.equal(byTarget(usb).reachable, false);
  assert.deepEqual(status.findings, [], JSON.stringify(status.findings));

  recordDrill(data, {
    at: hoursAgo(0.5),
    target: usb,
    outcome: 'failed',
    seconds: 0.2,
    error: 'pack damaged',
  });
  status = backupStatus(data, now + 49 * 3_600_000);
  assert.match(status.findings[0]!, /No backup is younger than 48 hours/);
  assert.ok(
    status.findings.some((f) => f.includes('The last restore drill FAILED') && f.includes('pack damaged')),
  );
});
