/**
 * Turns the content of one import file into units: groups of writes that must land together (a
 * transaction Bundle is one unit; each entry of a batch or collection, and each NDJSON line, is its own).
 * Pure and synchronous, so it runs in worker threads: it assigns stable ids, rewrites references between
 * entries, validates, extracts index values and serializes each resource as the store keeps it, leaving
 * only the database writes to the main thread.
 */
import { createHash } from 'node:crypto';
import { extractIndexEntries } from '../fhir/indexExtraction.ts';
import type { Resource } from '../fhir/types.ts';
import { validateResource } from '../fhir/validation/index.ts';
import { toIndexRows } from '../store/sqlite/indexWriter.ts';
import type { SerializedWrite } from '../store/sqlite/resourceTables.ts';
import { unstampedJson } from '../store/sqlite/storedJson.ts';

/**
 * A write ready for the store: a put carries the resource's JSON (`json`) and its index rows (`rows`).
 * Shared reference data identified by identifier has `keepExisting`: the first stored copy is kept.
 */
export type PreparedWrite = SerializedWrite;

export interface ImportUnit {
  /** Where it came from, for reports: `file.json entry 3`, `Patient.ndjson line 12`. */
  source: string;
  writes: PreparedWrite[];
  /**
   * Conditional references (`Practitioner?identifier=...`) that need a lookup in the store: the main
   * thread resolves them, then rewrites and indexes the unit's resources again.
   */
  conditionalReferences: string[];
}

export interface Rejection {
  source: string;
  reason: string;
}

export interface PreparedFile {
  units: ImportUnit[];
  rejected: Rejection[];
}

/**
 * Shared reference data that every Synthea bundle repeats with a fresh random id: these are identified by
 * their first identifier instead, so that many bundles yield one Practitioner per NPI.
 */
const DEDUPLICATED_BY_IDENTIFIER = new Set(['Organization', 'Practitioner', 'Location', 'PractitionerRole']);
const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;
const CONDITIONAL_REFERENCE = /^[A-Z][A-Za-z]+\?.+/;

export function prepareJsonFile(name: string, text: string): PreparedFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { units: [], rejected: [{ source: name, reason: `not valid JSON: ${(error as Error).message}` }] };
  }
  if (!isResource(json))
    return { units: [], rejected: [{ source: name, reason: 'not a FHIR resource (no resourceType)' }] };
  if (json.resourceType !== 'Bundle') return collect([prepareResource(`${name}`, json)]);
  const type = json.type;
  if (type === 'transaction') return prepareTransaction(name, json);
  if (type === 'batch' || type === 'collection' || type === 'searchset') {
    const entries = Array.isArray(json.entry) ? (json.entry as BundleEntry[]) : [];
    return collect(
      entries.flatMap((entry, i) =>
        entry.request?.method === 'GET' || entry.request?.method === 'HEAD'
          ? []
          : [prepareEntryAlone(`${name} entry ${i}`, entry)],
      ),
    );
  }
  // document, message, history...: the Bundle is itself the record to keep.
  return collect([prepareResource(name, json)]);
}

export function prepareNdjson(name: string, text: string): PreparedFile {
  const results: (ImportUnit | Rejection)[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const source = `${name} line ${i + 1}`;
    try {
      const json = JSON.parse(line);
      results.push(
        isResource(json)
          ? prepareResource(source, json)
          : { source, reason: 'not a FHIR resource (no resourceType)' },
      );
    } catch (error) {
      results.push({ source, reason: `not valid JSON: ${(error as Error).message}` });
    }
  }
  return collect(results);
}

interface BundleEntry {
  fullUrl?: string;
  resource?: Resource;
  request?: { method?: string; url?: string };
}

/** A whole transaction Bundle: one unit, rejected entirely when any entry is invalid. */
function prepareTransaction(name: string, bundle: Resource): PreparedFile {
  const entries = Array.isArray(bundle.entry) ? (bundle.entry as BundleEntry[]) : [];
  const references = new Map<string, string>();
  const planned = entries.map((entry, i) => {
    const resource = entry.resource;
    const method = entry.request?.method ?? (resource ? 'PUT' : undefined);
    if (method === 'DELETE') {
      const [type, id] = (entry.request?.url ?? '').split('/');
      return { i, method, type, id };
    }
    if (!isResource(resource)) return { i, error: 'entry has no resource' };
    if (method === 'GET' || method === 'HEAD') return { i, skip: true };
    const id =
      method === 'POST'
        ? assignedId(resource, entry.fullUrl)
        : (resource.id ?? assignedId(resource, entry.fullUrl));
    if (entry.fullUrl) references.set(entry.fullUrl, `${resource.resourceType}/${id}`);
    return { i, method, type: resource.resourceType, id, resource };
  });
  const writes: PreparedWrite[] = [];
  const conditional: string[] = [];
  const problems: string[] = [];
  for (const p of planned) {
    if ('error' in p) problems.push(`entry ${p.i}: ${p.error}`);
    else if ('skip' in p) continue;
    else if (p.method === 'DELETE') {
      if (p.type && p.id) writes.push({ kind: 'delete', resourceType: p.type, id: p.id });
      else problems.push(`entry ${p.i}: DELETE needs a url of the form Type/id`);
    } else {
      const resource = p.resource!;
      rewriteReferences(resource, references, conditional);
      resource.id = p.id!;
      const error = validationError(resource);
      if (error) problems.push(`entry ${p.i} (${p.type}): ${error}`);
      else writes.push(preparedPut(resource));
    }
  }
  if (problems.length > 0) {
    return {
      units: [],
      rejected: [
        {
          source: name,
          reason: `transaction not imported, nothing of it was written: ${problems.slice(0, 5).join('; ')}`,
        },
      ],
    };
  }
  return { units: [{ source: name, writes, conditionalReferences: conditional }], rejected: [] };
}

function prepareEntryAlone(source: string, entry: BundleEntry): ImportUnit | Rejection {
  if (entry.request?.method === 'DELETE') {
    const [type, id] = (entry.request.url ?? '').split('/');
    if (!type || !id) return { source, reason: 'DELETE needs a url of the form Type/id' };
    return { source, writes: [{ kind: 'delete', resourceType: type, id }], conditionalReferences: [] };
  }
  if (!isResource(entry.resource)) return { source, reason: 'entry has no resource' };
  const resource =
    entry.request?.method === 'POST'
      ? { ...entry.resource, id: assignedId(entry.resource, entry.fullUrl) }
      : entry.resource;
  return prepareResource(source, resource, entry.fullUrl);
}

function prepareResource(source: string, resource: Resource, fullUrl?: string): ImportUnit | Rejection {
  const conditional: string[] = [];
  rewriteReferences(resource, new Map(), conditional);
  if (resource.id === undefined || !ID_PATTERN.test(String(resource.id)))
    resource.id = assignedId(resource, fullUrl);
  const error = validationError(resource);
  if (error) return { source, reason: error };
  return { source, writes: [preparedPut(resource)], conditionalReferences: conditional };
}

/** A valid resource with its final id, serialized and indexed for the store. */
export function preparedPut(resource: Resource): PreparedWrite {
  return {
    kind: 'put',
    resourceType: resource.resourceType,
    id: resource.id!,
    json: unstampedJson(resource),
    rows: toIndexRows(extractIndexEntries(resource)),
    keepExisting: isSharedData(resource),
  };
}

/**
 * The id a created resource gets, stable across re-imports: shared reference data by its identifier,
 * otherwise the UUID of its `urn:uuid:` fullUrl, otherwise a hash of its content.
 */
function assignedId(resource: Resource, fullUrl: string | undefined): string {
  const identifier = sharedDataIdentifier(resource);
  if (identifier) return stableId(`${resource.resourceType}|${identifier.system ?? ''}|${identifier.value}`);
  const uuid = fullUrl?.startsWith('urn:uuid:') ? fullUrl.slice('urn:uuid:'.length) : undefined;
  if (uuid && ID_PATTERN.test(uuid)) return uuid;
  if (resource.id && ID_PATTERN.test(resource.id)) return resource.id;
  return stableId(JSON.stringify(resource));
}

function sharedDataIdentifier(resource: Resource): { system?: string; value: string } | undefined {
  if (!DEDUPLICATED_BY_IDENTIFIER.has(resource.resourceType)) return undefined;
  const identifier = (resource.identifier as { system?: string; value?: string }[] | undefined)?.[0];
  return identifier?.value ? { system: identifier.system, value: identifier.value } : undefined;
}

const isSharedData = (resource: Resource) => sharedDataIdentifier(resource) !== undefined;

/** A UUID-shaped id derived from text (SHA-256), so the same input always gets the same id. */
function stableId(text: string): string {
  const h = createHash('sha256').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * Rewrites, in place, references to other entries (by their fullUrl) to `Type/id`, and collects the
 * conditional references. The parsed file is not used for anything else, so no copy is needed.
 */
function rewriteReferences(value: unknown, references: Map<string, string>, conditional: string[]): void {
  if (Array.isArray(value)) {
    for (const item of value) rewriteReferences(item, references, conditional);
  } else if (typeof value === 'object' && value !== null) {
    const object = value as Record<string, unknown>;
    for (const key in object) {
      const child = object[key];
      if (key === 'reference' && typeof child === 'string') {
        const mapped = references.get(child);
        if (mapped) object[key] = mapped;
        else if (CONDITIONAL_REFERENCE.test(child)) conditional.push(child);
      } else if (typeof child === 'object') {
        rewriteReferences(child, references, conditional);
      }
    }
  }
}

function validationError(resource: Resource): string | undefined {
  const errors = validateResource(resource).filter((i) => i.severity === 'error' || i.severity === 'fatal');
  if (errors.length === 0) return undefined;
  return errors
    .slice(0, 3)
    .map((i) => `${i.expression?.[0] ?? resource.resourceType}: ${i.diagnostics}`)
    .join('; ');
}

function isResource(value: unknown): value is Resource {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as Resource).resourceType === 'string'
  );
}

function collect(results: (ImportUnit | Rejection)[]): PreparedFile {
  const units: ImportUnit[] = [];
  const rejected: Rejection[] = [];
  for (const r of results) {
    if ('writes' in r) units.push(r);
    else rejected.push(r);
  }
  return { units, rejected };
}
