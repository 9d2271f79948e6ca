/**
 * Which disk a backup folder is on, and whether that disk can be unplugged (a USB or other removable
 * disk): a folder that stays mounted is as erasable as the server, so only a removable disk that was
 * disconnected after its last run counts as the offline copy. Linux only (mountinfo and sysfs);
 * elsewhere nothing is known and nothing is claimed.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export interface DiskInfo {
  /** The mount point holding the folder. */
  mountPoint: string;
  /** The mounted source (`/dev/sdb1`, a NAS share). */
  source: string;
  /** A USB disk, or a disk the kernel marks removable. */
  removable: boolean;
}

export interface SystemFiles {
  mountinfo: string;
  /** sysfs's block devices by `major:minor`. */
  devBlock: string;
}

const LINUX: SystemFiles = { mountinfo: '/proc/self/mountinfo', devBlock: '/sys/dev/block' };

export function diskOf(folder: string, system: SystemFiles = LINUX): DiskInfo | undefined {
  let mountinfo: string;
  try {
    mountinfo = readFileSync(system.mountinfo, 'utf8');
  } catch {
    return undefined;
  }
  const path = existingPath(folder);
  let best: { mountPoint: string; device: string; source: string } | undefined;
  for (const line of mountinfo.split('\n')) {
    // id parent major:minor root mount-point options [optional...] - fstype source super-options
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const fields = left.split(' ');
    const mountPoint = unescapeMount(fields[4] ?? '');
    const inside = path === mountPoint || path.startsWith(mountPoint === '/' ? '/' : `${mountPoint}/`);
    if (!inside || (best && best.mountPoint.length >= mountPoint.length)) continue;
    best = { mountPoint, device: fields[2] ?? '', source: right.split(' ')[1] ?? '' };
  }
  if (!best) return undefined;
  return { mountPoint: best.mountPoint, source: best.source, removable: isRemovable(best.device, system) };
}

/** The folder's real path: links resolved in the part that exists (a target folder may not be made yet). */
function existingPath(folder: string): string {
  let existing = resolve(folder);
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  const rest = resolve(folder).slice(existing.length);
  try {
    return realpathSync(existing) + rest;
  } catch {
    return resolve(folder);
  }
}

function isRemovable(device: string, system: SystemFiles): boolean {
  let sysPath: string;
  try {
    sysPath = realpathSync(join(system.devBlock, device));
  } catch {
    return false; // not a block device: a network share or a virtual file system
  }
  if (/\/usb\d*\//.test(sysPath)) return true;
  // A partition's `removable` flag is on its disk, the folder above it.
  const disk = existsSync(join(sysPath, 'partition')) ? dirname(sysPath) : sysPath;
  try {
    return readFileSync(join(disk, 'removable'), 'utf8').trim() === '1';
  } catch {
    return false;
  }
}

/** mountinfo writes spaces, tabs, newlines and backslashes in paths as octal escapes. */
function unescapeMount(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}
