/**
 * Hand-written equivalents of the invariants on the most common elements that are more than
 * existence logic (existenceLogic.ts): every Reference and Period, every resource with contained
 * resources, every Observation, every Bundle and its entries. fhirpath needs 4-50 µs per evaluation
 * (bdl-7 is quadratic in the number of entries) and these run several times per resource; the other
 * invariants stay with fhirpath. Each one answers true, false, or undefined when FHIRPath
 * itself would not decide (dates of different precision), which counts as "holds".
 * validation.test.ts checks them against fhirpath on sample values.
 */

type Json = Record<string, unknown>;
export type NativeCheck = (node: unknown, env: { resource: Json; rootResource: Json }) => boolean | undefined;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
/** FHIRPath's exists(): a value, or just the id/extensions of a primitive (`_code`). */
const has = (node: Json, name: string) => node[name] !== undefined || node[`_${name}`] !== undefined;
const hasChoice = (node: Json, base: string) =>
  Object.keys(node).some((k) => (k.startsWith(base) || k.startsWith(`_${base}`)) && k !== base);
const list = (value: unknown): unknown[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];
const objects = (value: unknown): Json[] => list(value).filter(isObject);

/**
 * -1, 0 or 1 as FHIRPath compares two date/dateTime strings; undefined when it cannot tell: one
 * has a time and the other not, or one is a prefix of the other (2020 vs 2020-05).
 */
function compareDateTimes(a: string, b: string): number | undefined {
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

/** Every entry has `part` exactly when the Bundle is of one of `types`. */
function entriesAgree(bundle: unknown, part: string, types: string[]): boolean {
  if (!isObject(bundle)) return true;
  const expected = types.includes(bundle.type as string);
  return objects(bundle.entry).every((entry) => (entry[part] !== undefined) === expected);
}

export const NATIVE_INVARIANTS: Record<string, NativeCheck> = {
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
    objects(node.contained).every((r) =>
      objects(r.meta).every((m) => !has(m, 'versionId') && !has(m, 'lastUpdated')),
    ),

  // contained.meta.security.empty()
  'dom-5': (node) =>
    !isObject(node) ||
    objects(node.contained).every((r) => objects(r.meta).every((m) => m.security === undefined)),

  // entry.all(request.exists() = (%resource.type = 'batch' or ... 'transaction' or ... 'history'))
  'bdl-3': (node) => entriesAgree(node, 'request', ['batch', 'transaction', 'history']),

  // entry.all(response.exists() = (%resource.type = 'batch-response' or ... 'history'))
  'bdl-4': (node) => entriesAgree(node, 'response', ['batch-response', 'transaction-response', 'history']),

  // fullUrl.exists() implies fullUrl.contains('/_history/').not()
  'bdl-8': (node) =>
    !isObject(node) || typeof node.fullUrl !== 'string' || !node.fullUrl.includes('/_history/'),

  // (type = 'history') or entry.where(fullUrl.exists()).select(fullUrl&resource.meta.versionId).isDistinct()
  // fhirpath's isDistinct() compares every pair: seconds for a Bundle of thousands of entries.
  'bdl-7': (node) => {
    if (!isObject(node) || node.type === 'history') return true;
    const seen = new Set<string>();
    for (const entry of objects(node.entry)) {
      if (typeof entry.fullUrl !== 'string') continue;
      const versionId = (objects((entry.resource as Json | undefined)?.meta)[0]?.versionId as string) ?? '';
      const key = `${entry.fullUrl}|${versionId}`;
      if (seen.has(key)) return false;
      seen.add(key);
    }
    return true;
  },

  // value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()
  'obs-7': (node, env) => {
    if (!isObject(node) || !hasChoice(node, 'value') || node.component === undefined) return true;
    const codings = objects((env.resource.code as Json | undefined)?.coding);
    return objects(node.component).every((c) =>
      objects((c.code as Json | undefined)?.coding).every(
        (coding) => !codings.some((o) => jsonEqual(o, coding)),
      ),
    );
  },
};
