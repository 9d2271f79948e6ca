/**
 * `_include` and `_revinclude` (with `:iterate`): the resources that a page of matches refers to, or
 * that refer to it, fetched with a few indexed lookups per round and returned with search mode
 * `include`.
 */
import { extractParameterEntries } from '../fhir/indexExtraction.ts';
import { getSearchParameter, searchParametersFor } from '../fhir/searchParameters.ts';
import { resourceTypes } from '../fhir/validation/index.ts';
import type { IncludeSpec, SearchRequest } from '../fhir/searchRequest.ts';
import type { Resource } from '../fhir/types.ts';
import type { StoreOperations } from '../store/index.ts';

/** Bounds the work one search can cause: included resources, and rounds of `:iterate`. */
export const MAX_INCLUDED = 1000;
const MAX_ROUNDS = 4;

const keyOf = (r: Resource) => `${r.resourceType}/${r.id}`;

export async function findIncludes(
  ops: StoreOperations,
  matches: Resource[],
  specs: IncludeSpec[],
): Promise<Resource[]> {
  if (specs.length === 0 || matches.length === 0) return [];
  const seen = new Set(matches.map(keyOf));
  const included: Resource[] = [];
  let frontier = matches;
  for (let round = 0; round < MAX_ROUNDS && frontier.length > 0 && included.length < MAX_INCLUDED; round++) {
    const active = specs.filter((s) => round === 0 || s.iterate);
    if (active.length === 0) break;
    const found: Resource[] = [];
    for (const spec of active) {
      const candidates = spec.reverse
        ? await referring(ops, frontier, spec)
        : await referred(ops, frontier, spec);
      for (const r of candidates) {
        if (seen.has(keyOf(r)) || included.length + found.length >= MAX_INCLUDED) continue;
        seen.add(keyOf(r));
        found.push(r);
      }
    }
    included.push(...found);
    frontier = found;
  }
  return included;
}

/** Forward: the targets of the spec's reference parameter in the given resources. */
async function referred(ops: StoreOperations, resources: Resource[], spec: IncludeSpec): Promise<Resource[]> {
  const idsByType = new Map<string, Set<string>>();
  // Canonical references (`url` or `url|version`), by the types their parameter may point at.
  const canonicalsByType = new Map<string, Set<string>>();
  for (const resource of resources) {
    if (spec.sourceType !== '*' && resource.resourceType !== spec.sourceType) continue;
    const codes = spec.code === '*' ? referenceCodes(resource.resourceType) : new Set([spec.code]);
    for (const entry of extractParameterEntries(resource, codes)) {
      for (const value of entry.values) {
        if (value.kind === 'reference' && !value.targetType && /^[a-z][a-z0-9+.-]*:/i.test(value.reference)) {
          const targets = getSearchParameter(resource.resourceType, entry.param)?.targets ?? [];
          for (const type of targets) {
            if (spec.targetType && type !== spec.targetType) continue;
            if (!getSearchParameter(type, 'url')) continue;
            if (!canonicalsByType.has(type)) canonicalsByType.set(type, new Set());
            canonicalsByType.get(type)!.add(value.reference);
          }
        }
        if (
          value.kind !== 'reference' ||
          !value.targetType ||
          !value.targetId ||
          /^[a-z]+:/i.test(value.reference)
        )
          continue;
        if (spec.targetType && value.targetType !== spec.targetType) continue;
        if (!idsByType.has(value.targetType)) idsByType.set(value.targetType, new Set());
        idsByType.get(value.targetType)!.add(value.targetId);
      }
    }
  }
  const out: Resource[] = [];
  for (const [type, ids] of idsByType) {
    out.push(...(await lookup(ops, { types: [type], criteria: [{ kind: 'id', ids: [...ids] }] })));
  }
  for (const [type, canonicals] of canonicalsByType) {
    for (const canonical of canonicals) {
      const bar = canonical.indexOf('|');
      const url = bar < 0 ? canonical : canonical.slice(0, bar);
      const criteria: SearchRequest['criteria'] = [{ kind: 'uri', code: 'url', values: [url] }];
      if (bar >= 0 && getSearchParameter(type, 'version'))
        criteria.push({ kind: 'token', code: 'version', values: [{ code: canonical.slice(bar + 1) }] });
      out.push(...(await lookup(ops, { types: [type], criteria })));
    }
  }
  return out;
}

/** Reverse: resources of the spec's type whose reference parameter points at one of the given resources. */
async function referring(
  ops: StoreOperations,
  resources: Resource[],
  spec: IncludeSpec,
): Promise<Resource[]> {
  const targets = resources
    .filter((r) => !spec.targetType || r.resourceType === spec.targetType)
    // A resource with a canonical url is also referred to by it (and by `url|version`, which a
    // reference search for the url alone finds too).
    .flatMap((r) =>
      typeof r.url === 'string' && /^[a-z][a-z0-9+.-]*:/i.test(r.url) ? [keyOf(r), r.url] : [keyOf(r)],
    );
  if (targets.length === 0) return [];
  // `_revinclude=*`: whatever refers to the matches, of any type, through any reference parameter.
  return lookup(ops, {
    types: spec.sourceType === '*' ? resourceTypes() : [spec.sourceType],
    criteria: [{ kind: 'reference', code: spec.code, values: targets }],
  });
}

async function lookup(
  ops: StoreOperations,
  request: Pick<SearchRequest, 'types' | 'criteria'>,
): Promise<Resource[]> {
  const { resources } = await ops.search({
    ...request,
    sort: [],
    count: MAX_INCLUDED,
    offset: 0,
    total: 'none',
  });
  return resources;
}

const referenceCodeCache = new Map<string, Set<string>>();

function referenceCodes(type: string): Set<string> {
  let codes = referenceCodeCache.get(type);
  if (!codes) {
    codes = new Set(
      searchParametersFor(type)
        .filter((p) => p.type === 'reference')
        .map((p) => p.code),
    );
    referenceCodeCache.set(type, codes);
  }
  return codes;
}
