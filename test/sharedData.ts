/**
 * Access to the external FHIR data in ../shared/data (Synthea bundles, the HL7 R4 examples) for tests
 * and benchmarks. A clone without that folder skips the tests that need it, visibly; CI sets
 * REQUIRE_SHARED_DATA=1 so that a missing file fails instead of passing unnoticed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import type { Resource } from '../src/fhir/types.ts';

/** The shared data folder: $SHARED_DATA_DIR, or ../shared/data beside the project. */
export const sharedDataDir =
  process.env.SHARED_DATA_DIR ?? fileURLToPath(new URL('../../shared/data/', import.meta.url));

/** Path of a shared data file, or undefined when this clone does not have it. */
export function sharedDataPath(name: string): string | undefined {
  const path = join(sharedDataDir, name);
  return existsSync(path) ? path : undefined;
}

/**
 * Path of a shared data file; when it is absent, skips the test with a message saying so and returns
 * undefined, or throws when REQUIRE_SHARED_DATA=1.
 */
export function sharedDataOrSkip(t: TestContext, name: string): string | undefined {
  const path = sharedDataPath(name);
  if (path) return path;
  const message = `shared data file ${join(sharedDataDir, name)} is absent`;
  if (process.env.REQUIRE_SHARED_DATA === '1') throw new Error(`${message} and REQUIRE_SHARED_DATA=1`);
  t.skip(message);
  return undefined;
}

const unpacked = new Map<string, string>();

/**
 * Unpacks a shared tar archive into a temporary folder (once per process, removed when it exits)
 * and returns that folder. Throws if the archive is absent: check with sharedDataPath first.
 */
export function unpackShared(name: string): string {
  let dir = unpacked.get(name);
  if (dir) return dir;
  const archive = sharedDataPath(name);
  if (!archive) throw new Error(`shared data file ${join(sharedDataDir, name)} is absent`);
  const target = mkdtempSync(join(tmpdir(), 'chartvault-shared-'));
  process.on('exit', () => rmSync(target, { recursive: true, force: true }));
  execFileSync('tar', ['-xzf', archive, '-C', target]);
  dir = target;
  unpacked.set(name, dir);
  return dir;
}

/** The `.json` files under `dir`, at any depth, sorted by path so that runs are repeatable. */
export function jsonFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith('.json') && !basename(path).startsWith('.'))
    .map((path) => join(dir, path))
    .sort();
}

export function readJson<T = unknown>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

interface Bundle {
  resourceType: 'Bundle';
  entry?: { fullUrl?: string; resource?: Resource }[];
}

/**
 * The resources of a transaction Bundle as a server stores them: `urn:uuid:` references between
 * entries rewritten to `Type/id` (Synthea gives each resource the uuid of its fullUrl as id).
 */
export function transactionResources(bundle: Bundle): Resource[] {
  const entries = (bundle.entry ?? []).filter((e) => e.resource);
  const targets = new Map<string, string>();
  for (const { fullUrl, resource } of entries) {
    if (fullUrl?.startsWith('urn:uuid:') && resource?.id)
      targets.set(fullUrl, `${resource.resourceType}/${resource.id}`);
  }
  return entries.map((e) => rewriteReferences(e.resource, targets) as Resource);
}

function rewriteReferences(value: unknown, targets: Map<string, string>): unknown {
  if (Array.isArray(value)) return value.map((v) => rewriteReferences(v, targets));
  if (value === null || typeof value !== 'object') return value;
  const copy: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    copy[key] =
      key === 'reference' && typeof v === 'string' ? (targets.get(v) ?? v) : rewriteReferences(v, targets);
  }
  return copy;
}

/** Each resource of a Synthea archive, bundle by bundle; `limit` bounds the number of bundles read. */
export function* syntheaResources(archive: string, limit = Infinity): Generator<Resource> {
  const files = jsonFiles(unpackShared(archive)).slice(0, limit);
  for (const file of files) {
    const bundle = readJson<Bundle>(file);
    if (bundle.resourceType === 'Bundle') yield* transactionResources(bundle);
  }
}

/**
 * The resources of the HL7 R4 examples package, and the resources inside its example Bundles,
 * which add types that have no example file of their own.
 */
export function* exampleResources(archive = 'hl7.fhir.r4.examples-4.0.1.tgz'): Generator<Resource> {
  for (const file of jsonFiles(unpackShared(archive))) {
    const resource = readJson<Resource>(file);
    if (typeof resource.resourceType !== 'string') continue; // package.json and the package index
    yield resource;
    if (resource.resourceType === 'Bundle') {
      for (const entry of (resource as Bundle).entry ?? []) if (entry.resource) yield entry.resource;
    }
  }
}
