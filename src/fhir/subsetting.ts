/**
 * `_summary` and `_elements`: returning part of each resource. Which elements belong to the summary
 * comes from the StructureDefinitions (`isSummary`); a subsetted resource is tagged SUBSETTED, as the
 * specification requires, so that nobody mistakes it for the whole record.
 */
import { badRequest } from './outcome.ts';
import type { Resource } from './types.ts';
import { resourceDefinition } from './validation/structureDefinitions.ts';

export type SummaryMode = 'true' | 'text' | 'data' | 'count' | 'false';
const MODES = new Set<string>(['true', 'text', 'data', 'count', 'false']);

const SUBSETTED = {
  system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue',
  code: 'SUBSETTED',
  display: 'subsetted',
};

export interface Subsetting {
  summary?: SummaryMode;
  elements?: string[];
}

export function parseSummary(value: string): SummaryMode {
  if (!MODES.has(value))
    throw badRequest(`_summary must be true, text, data, count or false, not "${value.slice(0, 50)}".`);
  return value as SummaryMode;
}

export function parseElements(value: string): string[] {
  const names = value.split(',').map((n) => n.trim());
  const bad = names.find((n) => !/^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)?$/.test(n));
  if (bad !== undefined)
    throw badRequest(`_elements takes element names separated by commas; "${bad.slice(0, 50)}" is not one.`);
  // `Patient.name` and `name` both name the top-level element.
  return names.map((n) => n.split('.').pop()!);
}

/** Applies `_summary` / `_elements` to one resource (a copy; the input is untouched). */
export function subset(resource: Resource, subsetting: Subsetting): Resource {
  const { summary, elements } = subsetting;
  if (summary === 'data') return tagged(omit(resource, new Set(['text'])));
  if (summary === 'true') return tagged(pick(resource, summaryElements(resource.resourceType)));
  if (summary === 'text')
    return tagged(pick(resource, new Set(['text', ...mandatoryElements(resource.resourceType)])));
  if (elements)
    return tagged(pick(resource, new Set([...elements, ...mandatoryElements(resource.resourceType)])));
  return resource;
}

const summaryCache = new Map<string, Set<string>>();
const mandatoryCache = new Map<string, Set<string>>();

/** Top-level JSON property names of the summary view of a type (choice elements expanded by prefix). */
function summaryElements(type: string): Set<string> {
  let names = summaryCache.get(type);
  if (!names) {
    names = topLevel(type, (e) => e.isSummary === true || (e.min ?? 0) > 0);
    summaryCache.set(type, names);
  }
  return names;
}

function mandatoryElements(type: string): Set<string> {
  let names = mandatoryCache.get(type);
  if (!names) {
    names = topLevel(type, (e) => (e.min ?? 0) > 0);
    mandatoryCache.set(type, names);
  }
  return names;
}

function topLevel(type: string, include: (e: { isSummary?: boolean; min?: number }) => boolean): Set<string> {
  const names = new Set(['resourceType', 'id', 'meta']);
  for (const element of resourceDefinition(type)?.snapshot.element ?? []) {
    const parts = element.path.split('.');
    if (parts.length === 2 && include(element)) names.add(parts[1]!);
  }
  return names;
}

/** Keeps the named properties; `value[x]` keeps every `valueQuantity`, `valueString`, ... */
function pick(resource: Resource, names: Set<string>): Resource {
  const choices = [...names].filter((n) => n.endsWith('[x]')).map((n) => n.slice(0, -3));
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(resource)) {
    const base = key.startsWith('_') ? key.slice(1) : key;
    if (names.has(base) || choices.some((c) => base.startsWith(c) && /^[A-Z]/.test(base.slice(c.length))))
      out[key] = value;
  }
  return out as Resource;
}

function omit(resource: Resource, names: Set<string>): Resource {
  return Object.fromEntries(Object.entries(resource).filter(([key]) => !names.has(key))) as Resource;
}

function tagged(resource: Resource): Resource {
  const tags = resource.meta?.tag ?? [];
  if (tags.some((t) => t.code === SUBSETTED.code && t.system === SUBSETTED.system)) return resource;
  return { ...resource, meta: { ...resource.meta, tag: [...tags, SUBSETTED] } };
}
