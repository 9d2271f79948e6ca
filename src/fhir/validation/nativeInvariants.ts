/**
 * Hand-written equivalents of the invariants that sit on the most common elements (every Extension,
 * Reference, Period and Quantity, every resource with contained resources, every Observation).
 * fhirpath needs 4-15 µs per evaluation, and these run several times per resource; the rest of
 * the invariants stay with fhirpath. Each one answers true, false, or undefined when FHIRPath
 * itself would not decide (dates of different precision), which counts as "holds".
 * validation.test.ts checks them against fhirpath on sample values.
 */

type Json = Record<string, unknown>;
export type NativeCheck = (node: unknown, env: { resource: Json; rootResource: Json }) => boolean | undefined;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
/** FHIRPath's exists(): a value, or just the id/extensions of a primitive (`_code`). */
const has = (node: Json, name: string) => node[name] !== undefined || node[`_${name}`] !== undefined;
const hasChoice = (node: Json, base: string) =>
  Object.keys(node).some((k) => (k.startsWith(base) || k.startsWith(`_${base}`)) && k !== base);
const list = (value: unknown): unknown[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
const objects = (value: unknown): Json[] => list(value).filter(isObject);

/**
 * -1, 0 or 1 as FHIRPath compares two date/dateTime strings; undefined when it cannot tell: one
 * has a time and the other not, or one is a prefix of the other (2020 vs 2020-05).
 */
export function compareDateTimes(a: string, b: string): number | undefined {
  const aHasTime = a.includes('T');
  if (aHasTime !== b.includes('T')) return undefined;
  if (aHasTime) {
    const difference = Date.parse(a) - Date.parse(b);
    return Number.isNaN(difference) ? undefined : Math.sign(difference);
  }
  const n = Math.min(a.length, b.length);
  const x = a.slice(0, n);
  const y = b.slice(0, n);
  if (x !== y) return x < y ? -1 : 1;
  return a.length === b.length ? 0 : undefined;
}

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => jsonEqual((a as Json)[k], (b as Json)[k]));
}

/** Every string in the tree that a `#id` local reference could appear as (reference, uri, canonical). */
function collectStrings(value: unknown, into: Set<string>, depth = 0): void {
  if (depth > 200) return;
  if (typeof value === 'string') {
    if (value.startsWith('#')) into.add(value);
  } else if (Array.isArray(value)) {
    for (const item of value) collectStrings(item, into, depth + 1);
  } else if (isObject(value)) {
    for (const key in value) collectStrings(value[key], into, depth + 1);
  }
}

export const NATIVE_INVARIANTS: Record<string, NativeCheck> = {
  // extension.exists() != value.exists()
  'ext-1': (node) => !isObject(node) || (node.extension !== undefined) !== hasChoice(node, 'value'),

  // reference.startsWith('#').not() or (reference.substring(1) in %rootResource.contained.id)
  // A bare "#" refers to the container itself, which R4 explicitly allows.
  'ref-1': (node, env) => {
    const reference = isObject(node) ? node.reference : undefined;
    if (typeof reference !== 'string' || !reference.startsWith('#') || reference === '#') return true;
    const id = reference.slice(1);
    return objects(env.rootResource.contained).some((r) => r.id === id);
  },

  // start.hasValue().not() or end.hasValue().not() or (start <= end)
  'per-1': (node) => {
    if (!isObject(node) || typeof node.start !== 'string' || typeof node.end !== 'string') return true;
    const order = compareDateTimes(node.start, node.end);
    return order === undefined ? undefined : order <= 0;
  },

  // code.empty() or system.exists()
  'qty-3': (node) => !isObject(node) || !has(node, 'code') || has(node, 'system'),

  // contained.contained.empty()
  'dom-2': (node) => !isObject(node) || objects(node.contained).every((r) => r.contained === undefined),

  // contained.where(('#'+id in %resource.descendants().(reference | as(canonical) | as(uri) | as(url)))
  //   or descendants().where(reference = '#').exists() or ...).empty()
  // Every contained resource is referred to from the resource, or refers to its container ("#").
  'dom-3': (node) => {
    if (!isObject(node) || node.contained === undefined) return true;
    const references = new Set<string>();
    collectStrings(node, references);
    return objects(node.contained).every((r) => {
      if (references.has(`#${r.id}`)) return true;
      const own = new Set<string>();
      collectStrings(r, own);
      return own.has('#');
    });
  },

  // contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()
  'dom-4': (node) =>
    !isObject(node) ||
    objects(node.contained).every((r) => objects(r.meta).every((m) => !has(m, 'versionId') && !has(m, 'lastUpdated'))),

  // contained.meta.security.empty()
  'dom-5': (node) =>
    !isObject(node) || objects(node.contained).every((r) => objects(r.meta).every((m) => m.security === undefined)),

  // dataAbsentReason.empty() or value.empty()
  'obs-6': (node) => !isObject(node) || node.dataAbsentReason === undefined || !hasChoice(node, 'value'),

  // value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()
  'obs-7': (node, env) => {
    if (!isObject(node) || !hasChoice(node, 'value') || node.component === undefined) return true;
    const codings = objects((env.resource.code as Json | undefined)?.coding);
    return objects(node.component).every((c) =>
      objects((c.code as Json | undefined)?.coding).every((coding) => !codings.some((o) => jsonEqual(o, coding))),
    );
  },
};
