/**
 * A reference as an absolute URL on this server's own base (`https://host/fhir/Patient/1`) names the
 * same resource as `Patient/1` (https://hl7.org/fhir/R4/search.html#reference): searched for, it is
 * looked up as the local key; written in a resource, it is stored as the relative reference, so that
 * searches, chains, includes and compartments find it like any local reference (the store does not
 * know the address it is served at).
 */
import type { Criterion } from '../fhir/searchRequest.ts';
import type { Resource } from '../fhir/types.ts';

export function withLocalReferences(criteria: Criterion[], baseUrl: string): Criterion[] {
  return criteria.map((criterion) => localize(criterion, `${baseUrl}/`));
}

function localize(criterion: Criterion, base: string): Criterion {
  switch (criterion.kind) {
    case 'reference':
      return { ...criterion, values: criterion.values.map((value) => localKey(value, base)) };
    case 'chain':
    case 'has':
      return { ...criterion, criterion: localize(criterion.criterion, base) };
    default:
      return criterion;
  }
}

const LOCAL = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

function localKey(value: string, base: string): string {
  if (!value.startsWith(base)) return value;
  // `Type/id`, or `Type/id/_history/v`: the version is not part of the key.
  const match = LOCAL.exec(value.slice(base.length));
  return match ? `${match[1]}/${match[2]}` : value;
}

/**
 * Rewrites, in place, every `reference` on this server's base to `Type/id` (keeping `/_history/v`).
 * Bundles are stored as sent: a document's references resolve against its entries' full URLs.
 */
export function storeReferencesLocally(resource: Resource, baseUrl: string): void {
  if (resource.resourceType === 'Bundle') return;
  const base = `${baseUrl}/`;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    const record = node as Record<string, unknown>;
    for (const [key, value] of Object.entries(record)) {
      if (key === 'reference' && typeof value === 'string' && value.startsWith(base)) {
        const relative = value.slice(base.length);
        if (LOCAL.test(relative)) record[key] = relative;
      } else if (typeof value === 'object') visit(value);
    }
  };
  visit(resource);
}
