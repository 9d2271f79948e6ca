/**
 * A reference searched as an absolute URL on this server's own base (`https://host/fhir/Patient/1`)
 * names the same resource as `Patient/1`, which is how local references are indexed
 * (https://hl7.org/fhir/R4/search.html#reference).
 */
import type { Criterion } from '../fhir/searchRequest.ts';

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

function localKey(value: string, base: string): string {
  if (!value.startsWith(base)) return value;
  // `Type/id`, or `Type/id/_history/v`: the version is not part of the key.
  const match = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/[^/]+)?$/.exec(
    value.slice(base.length),
  );
  return match ? `${match[1]}/${match[2]}` : value;
}
