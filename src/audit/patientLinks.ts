/**
 * Which patients an audit entry names (docs/audit-chain.md, section 2): a Patient's own id, and every
 * `Patient/{id}` reference anywhere in a resource. Pure functions importing nothing of ChartVault, so
 * that the store can use them for the entries it writes with each version.
 */

const ID = '[A-Za-z0-9\\-.]{1,64}';
/** In stored (compact) JSON text: `"reference":"Patient/1"`, `".../Patient/1/_history/2"`. */
const REFERENCE_IN_TEXT = new RegExp(`"reference":"(?:[^"]*/)?Patient/(${ID})(?:/_history/[^"]*)?"`, 'g');
const REFERENCE_VALUE = new RegExp(`^(?:.*/)?Patient/(${ID})(?:/_history/.*)?$`);

/** The patients a resource stored as compact JSON text names. */
export function patientIdsInJson(resourceType: string, id: string, json: string | null): string[] {
  const ids = new Set<string>();
  if (resourceType === 'Patient') ids.add(id);
  if (json) for (const match of json.matchAll(REFERENCE_IN_TEXT)) ids.add(match[1]!);
  return [...ids].sort();
}

/** Adds to `into` the patients a parsed resource (or Bundle) names. */
export function collectPatientIds(resource: unknown, into: Set<string>): void {
  walk(resource, into);
}

function walk(value: unknown, into: Set<string>): void {
  if (Array.isArray(value)) {
    for (const item of value) walk(item, into);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  // A Patient anywhere (a Bundle entry, a contained resource) names itself.
  const r = value as { resourceType?: unknown; id?: unknown };
  if (r.resourceType === 'Patient' && typeof r.id === 'string') into.add(r.id);
  for (const [name, child] of Object.entries(value)) {
    if (name === 'reference' && typeof child === 'string') {
      const match = REFERENCE_VALUE.exec(child);
      if (match) into.add(match[1]!);
    } else if (typeof child === 'object') walk(child, into);
  }
}
