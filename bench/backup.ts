/**
 * Backups against restic, on the same data in the same run. The Synthea bench bundles (with --quick, the
 * 100-patient archive) are imported into a store; then:
 *
 *   1. first snapshot: `chartvault backup run` to a directory, against `restic backup` of the store's
 *      NDJSON export (restic's best case: plain text it can chunk and deduplicate) and of the data
 *      directory (as an administrator would back it up);
 *   2. day 2: 1% of resources get a new version (a meta tag) and 0.5% are added (copies with new ids);
 *      second snapshots of all three; bytes added against the floor, `zstd -3` of the NDJSON of exactly
 *      the changed and added resources;
 *   3. `chartvault backup verify --read-data` against `restic check --read-data`;
 *   4. `chartvault restore` into a new data directory (a store that serves) against `restic restore`.
 *
 * restic and zstd come from Debian (`apt-get install -y restic zstd`, run here when missing). Every restic
 * repository has a throw-away password given to the child process only. Not measured here: the read
 * throughput a live server loses to snapshots every minute.
 *
 * With --million, only the snapshot after 100 changes in the 1M-resource store (runMillionSnapshot).
 *
 *   node --import tsx bench/backup.ts [--quick | --million]
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Resource } from '../src/fhir/types.ts';
import { openStore, type BatchWrite } from '../src/store/index.ts';
import {
  flags,
  format,
  importedRate,
  isMain,
  machine,
  printFigure,
  runCli,
  syntheaFolder,
  tempFolder,
  type Figure,
} from './common.ts';
import { CACHE_DIR, rawConnection } from './searchData.ts';

const QUICK_ARCHIVE = 'synthea-r4-dev-100.tar.gz';
const FULL_ARCHIVE = 'synthea-r4-bench-515.tar.gz';
const CHANGED_SHARE = 0.01;
const ADDED_SHARE = 0.005;
/** The goals. */
const GOAL_DAY2_OVER_FLOOR = 2;
const GOAL_RESTORE_PER_SECOND = 5_000;
/** The change made to a resource on day 2. */
const DAY2_TAG = { system: 'https://chartvault.example/bench', code: 'day-2' };

export async function runBackupBench(options = flags()): Promise<Figure[]> {
  console.log(`backup benchmark on ${machine()}${options.quick ? ' (--quick)' : ''}`);
  ensureTools();
  const archive = options.quick ? QUICK_ARCHIVE : FULL_ARCHIVE;
  const temp = tempFolder('chartvault-backup-bench-');
  const at = (name: string) => join(temp.path, name);
  const data = at('data');
  const keys = at('keys');
  const kit = at('kit.html');
  const vault = at('vault');
  const exportDir = at('export');
  const resticNdjson = new Restic(at('restic-ndjson'), at('restic-cache'));
  const resticData = new Restic(at('restic-data'), at('restic-cache'));
  try {
    await runCli(['init', '--data', data, '--key-dir', keys, '--yes', '--kit-out', kit]);
    const imported = importedRate(
      (await runCli(['import', '--data', data, '--key-dir', keys, '--no-progress', syntheaFolder(archive)]))
        .stdout,
    );
    console.log(
      `  ${archive}: ${format(imported.resources)} resources imported in ${format(imported.seconds)} s`,
    );

    // 1. First snapshots.
    const export1 = timed(() => exportNdjson(data, keys, exportDir));
    console.log(
      `  NDJSON export: ${format(export1.value.resources)} resources, ${mb(export1.value.bytes)} in ${format(export1.seconds, 1)} s ` +
        `(not counted in restic's times below)`,
    );
    const resources = export1.value.resources;
    const cv1 = await runCli(['backup', 'run', '--data', data, '--key-dir', keys, '--to', vault]);
    const cvBytes1 = treeBytes(vault);
    resticNdjson.init();
    resticData.init();
    const rn1 = await resticNdjson.timed(['backup', exportDir]);
    const rnBytes1 = resticNdjson.bytes();
    const rd1 = await resticData.timed(['backup', data]);
    const rdBytes1 = resticData.bytes();
    console.log(
      `  first snapshot: chartvault ${format(cv1.seconds, 1)} s, ${mb(cvBytes1)}; restic of the NDJSON ${format(rn1, 1)} s, ` +
        `${mb(rnBytes1)}; restic of the data directory ${format(rd1, 1)} s, ${mb(rdBytes1)}`,
    );

    // 2. Day 2.
    const day2 = await changeDay2(data, keys, at('day2.ndjson'));
    const floor = zstdBytes(at('day2.ndjson'));
    console.log(
      `  day 2: ${format(day2.changed)} resources changed, ${format(day2.added)} added; their NDJSON ${mb(day2.bytes)}, ` +
        `zstd -3 ${mb(floor)} (the floor)`,
    );
    const export2 = timed(() => exportNdjson(data, keys, exportDir));
    const cv2 = await runCli(['backup', 'run', '--data', data, '--key-dir', keys, '--to', vault]);
    const cvAdded = treeBytes(vault) - cvBytes1;
    const rn2 = await resticNdjson.timed(['backup', exportDir]);
    const rnAdded = resticNdjson.bytes() - rnBytes1;
    const rd2 = await resticData.timed(['backup', data]);
    const rdAdded = resticData.bytes() - rdBytes1;
    console.log(
      `  day-2 snapshot: chartvault ${format(cv2.seconds, 1)} s, +${mb(cvAdded)}; restic of the NDJSON ${format(rn2, 1)} s ` +
        `(after a ${format(export2.seconds, 1)} s export), +${mb(rnAdded)}; restic of the data directory ${format(rd2, 1)} s, +${mb(rdAdded)}`,
    );

    // 3. Verification, reading every byte.
    const cvVerify = await runCli(['backup', 'verify', '--from', vault, '--kit', kit, '--read-data']);
    const rnCheck = await resticNdjson.timed(['check', '--read-data']);
    const rdCheck = await resticData.timed(['check', '--read-data']);

    // 4. Restore of the latest snapshot.
    const cvRestore = await runCli([
      'restore',
      '--from',
      vault,
      '--kit',
      kit,
      '--data',
      at('restored'),
      '--key-dir',
      at('restored-keys'),
    ]);
    const restoredResources = Number(/: (\d+) resources,/.exec(cvRestore.stdout)?.[1]);
    if (!(restoredResources > 0)) throw new Error(`no resource count in:\n${cvRestore.stdout}`);
    const rnRestore = await resticNdjson.timed([
      'restore',
      'latest',
      '--target',
      at('restic-ndjson-restored'),
    ]);
    const rdRestore = await resticData.timed(['restore', 'latest', '--target', at('restic-data-restored')]);

    const perSecond = (seconds: number) => resources / seconds;
    // The commands' own times, without starting Node and opening the store: what a schedule inside
    // `serve` pays.
    const cv1Inside = reportedSeconds(cv1.stdout, /written in ([\d.]+) s/);
    const restoreInside = reportedSeconds(cvRestore.stdout, /checked against the snapshot, in ([\d.]+) s/);
    const figures: Figure[] = [
      {
        name: 'first snapshot vs restic of the NDJSON',
        value: perSecond(cv1.seconds),
        unit: 'resources/s',
        baseline: { name: 'restic, NDJSON', value: perSecond(rn1) },
        goal: { value: 1, higherIsBetter: true },
      },
      {
        name: 'first snapshot vs restic of the data dir',
        value: perSecond(cv1.seconds),
        unit: 'resources/s',
        baseline: { name: 'restic, data dir', value: perSecond(rd1) },
      },
      {
        name: 'first snapshot, its own time, vs restic NDJSON',
        value: perSecond(cv1Inside),
        unit: 'resources/s',
        baseline: { name: 'restic, NDJSON', value: perSecond(rn1) },
      },
      {
        name: 'first snapshot size vs restic of the NDJSON',
        value: cvBytes1 / 1e6,
        unit: 'MB',
        baseline: { name: 'restic, NDJSON', value: rnBytes1 / 1e6 },
      },
      {
        name: 'first snapshot size vs restic of the data dir',
        value: cvBytes1 / 1e6,
        unit: 'MB',
        baseline: { name: 'restic, data dir', value: rdBytes1 / 1e6 },
      },
      {
        name: 'day-2 snapshot, bytes added vs the floor',
        value: cvAdded / 1e6,
        unit: 'MB',
        baseline: { name: 'zstd -3 floor', value: floor / 1e6 },
        goal: { value: GOAL_DAY2_OVER_FLOOR, higherIsBetter: false },
      },
      {
        name: 'restic of the NDJSON, day 2, bytes added',
        value: rnAdded / 1e6,
        unit: 'MB',
        baseline: { name: 'zstd -3 floor', value: floor / 1e6 },
      },
      {
        name: 'restic of the data dir, day 2, bytes added',
        value: rdAdded / 1e6,
        unit: 'MB',
        baseline: { name: 'zstd -3 floor', value: floor / 1e6 },
      },
      {
        name: 'day-2 snapshot time vs restic of the NDJSON',
        value: cv2.seconds,
        unit: 's',
        baseline: { name: 'restic, NDJSON (no export)', value: rn2 },
      },
      {
        name: 'day-2 snapshot time vs restic of the data dir',
        value: cv2.seconds,
        unit: 's',
        baseline: { name: 'restic, data dir', value: rd2 },
      },
      {
        // Lower is better: the goal is a time no longer than restic's.
        name: 'verify --read-data vs restic check --read-data',
        value: cvVerify.seconds,
        unit: 's',
        baseline: { name: 'restic check, NDJSON', value: rnCheck },
        goal: { value: 1.0001, higherIsBetter: false },
      },
      {
        name: 'verify --read-data vs restic check, data dir',
        value: cvVerify.seconds,
        unit: 's',
        baseline: { name: 'restic check, data dir', value: rdCheck },
      },
      {
        name: 'restore to a serving store',
        value: restoredResources / cvRestore.seconds,
        unit: 'resources/s',
        goal: { value: GOAL_RESTORE_PER_SECOND, higherIsBetter: true },
      },
      {
        name: 'restore, its own time (without the CLI start)',
        value: restoredResources / restoreInside,
        unit: 'resources/s',
      },
      {
        name: 'restore time vs restic restore of the NDJSON',
        value: cvRestore.seconds,
        unit: 's',
        baseline: { name: 'restic restore, NDJSON (not served)', value: rnRestore },
      },
      {
        name: 'restore time vs restic restore of the data dir',
        value: cvRestore.seconds,
        unit: 's',
        baseline: { name: 'restic restore, data dir', value: rdRestore },
      },
    ];
    figures.forEach(printFigure);
    console.log(
      '  not measured: read throughput lost to snapshots every minute; for a 100-change snapshot in a 1M-resource store, run with --million',
    );
    return figures;
  } finally {
    temp.remove();
  }
}

/** restic and zstd from Debian, installed when missing. */
function ensureTools(): void {
  const missing = ['restic', 'zstd'].filter((tool) => !onPath(tool));
  if (missing.length === 0) return;
  console.log(`  installing ${missing.join(' and ')} from Debian (apt-get install -y ${missing.join(' ')})`);
  execFileSync('apt-get', ['install', '-y', '-q', ...missing], { stdio: ['ignore', 'ignore', 'inherit'] });
  const version = execFileSync('restic', ['version'], { encoding: 'utf8' }).trim();
  console.log(`  ${version}`);
}

function onPath(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** One restic repository with a throw-away password, known only to the child processes. */
class Restic {
  private readonly env: NodeJS.ProcessEnv;
  constructor(
    readonly repository: string,
    cache: string,
  ) {
    this.env = {
      ...process.env,
      RESTIC_REPOSITORY: repository,
      RESTIC_PASSWORD: randomBytes(16).toString('hex'),
      RESTIC_CACHE_DIR: cache,
    };
  }

  init(): void {
    execFileSync('restic', ['init', '--quiet'], { env: this.env, stdio: 'ignore' });
  }

  /** Runs `restic ...args` and returns its wall time in seconds. */
  timed(args: string[]): Promise<number> {
    return new Promise((resolve, reject) => {
      const started = performance.now();
      const child = spawn('restic', ['--quiet', ...args], {
        env: this.env,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('exit', (code) => {
        if (code === 0) resolve((performance.now() - started) / 1000);
        else reject(new Error(`restic ${args[0]} exited with ${code}: ${stderr}`));
      });
    });
  }

  bytes(): number {
    return Number(execFileSync('du', ['-sb', this.repository], { encoding: 'utf8' }).split('\t')[0]);
  }
}

/** The current JSON of every resource, one NDJSON file per type, written from the store's database. */
function exportNdjson(data: string, keys: string, folder: string): { resources: number; bytes: number } {
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });
  const db = rawConnection(data, keys);
  let resources = 0;
  let bytes = 0;
  // Lines are gathered per type and appended in large pieces: one write call per row is slow.
  const pending = new Map<string, string[]>();
  const flush = (type: string, lines: string[]) => {
    if (lines.length > 0) appendFileSync(join(folder, `${type}.ndjson`), lines.join('\n') + '\n');
    pending.set(type, []);
  };
  try {
    const rows = db
      .prepare(
        'SELECT r.type AS type, v.body AS body FROM resource r JOIN resource_version v ON v.vid = r.vid WHERE r.deleted = 0',
      )
      .iterate() as Iterable<{ type: string; body: string }>;
    for (const { type, body } of rows) {
      let lines = pending.get(type);
      if (!lines) pending.set(type, (lines = []));
      lines.push(body);
      resources++;
      bytes += Buffer.byteLength(body) + 1;
      if (lines.length >= 2000) flush(type, lines);
    }
  } finally {
    db.close();
  }
  for (const [type, lines] of pending) flush(type, lines);
  return { resources, bytes };
}

/**
 * Day 2 through the store: every 100th resource gets a new version (a meta tag), every 200th is copied
 * under a new id. The stored JSON of exactly these versions is written to `ndjsonFile` for the floor.
 */
async function changeDay2(
  data: string,
  keys: string,
  ndjsonFile: string,
): Promise<{ changed: number; added: number; bytes: number }> {
  const db = rawConnection(data, keys);
  const current = db
    .prepare(
      'SELECT v.body AS body FROM resource r JOIN resource_version v ON v.vid = r.vid WHERE r.deleted = 0 ORDER BY r.rid',
    )
    .all() as { body: string }[];
  db.close();
  const changeEvery = Math.round(1 / CHANGED_SHARE);
  const addEvery = Math.round(1 / ADDED_SHARE);
  const writes: BatchWrite[] = [];
  current.forEach(({ body }, i) => {
    const resource = JSON.parse(body) as Resource;
    if (i % changeEvery === 0) {
      resource.meta = { ...resource.meta, tag: [...(resource.meta?.tag ?? []), DAY2_TAG] };
      writes.push({ kind: 'put', resource });
    }
    if (i % addEvery === 1) writes.push({ kind: 'put', resource: { ...resource, id: randomUUID() } });
  });
  const started = Date.now();
  const { store } = openStore(data, keys);
  try {
    for (let i = 0; i < writes.length; i += 500) await store.writeBatch(writes.slice(i, i + 500));
  } finally {
    await store.close();
  }
  const after = rawConnection(data, keys);
  let bytes: number;
  try {
    const bodies = (
      after
        .prepare('SELECT body FROM resource_version WHERE last_updated >= ? AND body IS NOT NULL')
        .all(started) as {
        body: string;
      }[]
    ).map((row) => row.body);
    const text = bodies.join('\n') + '\n';
    writeFileSync(ndjsonFile, text);
    bytes = Buffer.byteLength(text);
  } finally {
    after.close();
  }
  const changed = writes.filter(
    (w) => w.kind === 'put' && w.resource.meta?.tag?.some((t) => t.code === 'day-2'),
  );
  return { changed: changed.length, added: writes.length - changed.length, bytes };
}

function reportedSeconds(stdout: string, pattern: RegExp): number {
  const seconds = Number(pattern.exec(stdout)?.[1]);
  if (!(seconds > 0)) throw new Error(`no time in:\n${stdout}`);
  return seconds;
}

function zstdBytes(file: string): number {
  return execFileSync('zstd', ['-3', '-c', '-q', file]).length;
}

/** Sum of the sizes of the files under `folder`. */
function treeBytes(folder: string): number {
  let total = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true, recursive: true }))
    if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).size;
  return total;
}

function timed<T>(work: () => T): { value: T; seconds: number } {
  const started = performance.now();
  const value = work();
  return { value, seconds: (performance.now() - started) / 1000 };
}

const mb = (bytes: number) => `${format(bytes / 1e6, 1)} MB`;

/**
 * `--million`: the snapshot after a minute with 100 changed resources in the 1M-resource store of the
 * search benchmark (bench/searchData.ts; it must have been built). The store is copied first (3.8 GB)
 * and given a first snapshot (minutes); the figure is the second snapshot's own time.
 */
export async function runMillionSnapshot(): Promise<Figure[]> {
  console.log(`snapshot of 100 changes in the 1M-resource store, on ${machine()}`);
  if (!existsSync(join(CACHE_DIR, 'marker.json')))
    throw new Error(`no 1M-resource store in ${CACHE_DIR}: build it first with npm run bench -- search`);
  const temp = tempFolder('chartvault-backup-1m-');
  const data = join(temp.path, 'data');
  const keys = join(temp.path, 'keys');
  const vault = join(temp.path, 'vault');
  try {
    const copy = timed(() => {
      execFileSync('cp', ['-r', '--reflink=auto', join(CACHE_DIR, 'data'), data]);
      execFileSync('cp', ['-r', join(CACHE_DIR, 'keys'), keys]);
    });
    console.log(`  copied the store in ${format(copy.seconds)} s`);
    const backup = () => runCli(['backup', 'run', '--data', data, '--key-dir', keys, '--to', vault]);
    const first = await backup();
    const firstBytes = treeBytes(vault);
    console.log(`  first snapshot: ${format(first.seconds)} s, ${mb(firstBytes)}`);

    const db = rawConnection(data, keys);
    const bodies = db
      .prepare(
        'SELECT v.body AS body FROM resource r JOIN resource_version v ON v.vid = r.vid WHERE r.deleted = 0 AND r.rid % 9973 = 0 LIMIT 100',
      )
      .all() as { body: string }[];
    db.close();
    const { store } = openStore(data, keys);
    try {
      await store.writeBatch(
        bodies.map(({ body }) => {
          const resource = JSON.parse(body) as Resource;
          resource.meta = { ...resource.meta, tag: [...(resource.meta?.tag ?? []), DAY2_TAG] };
          return { kind: 'put', resource };
        }),
      );
    } finally {
      await store.close();
    }
    const second = await backup();
    const secondInside = reportedSeconds(second.stdout, /written in ([\d.]+) s/);
    const secondBytes = treeBytes(vault) - firstBytes;
    const idle = await backup();
    console.log(
      `  ${bodies.length} resources changed; next snapshot ${format(second.seconds, 1)} s for the command, ` +
        `${format(secondInside, 2)} s its own time, +${format(secondBytes / 1e3, 1)} kB; with no change: ` +
        `${format(idle.seconds, 1)} s for the command (${idle.stdout.trim()})`,
    );
    const figures: Figure[] = [
      {
        name: 'snapshot of 100 changes in a 1M store (own time)',
        value: secondInside,
        unit: 's',
        goal: { value: 1, higherIsBetter: false },
      },
      { name: 'the same, the whole command', value: second.seconds, unit: 's' },
    ];
    figures.forEach(printFigure);
    return figures;
  } finally {
    temp.remove();
  }
}

if (isMain(import.meta.url))
  await (process.argv.includes('--million') ? runMillionSnapshot() : runBackupBench());
