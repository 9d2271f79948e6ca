/** What a reference points at, read from its text alone (no lookups: indexing never fetches). */
import { isResourceType } from './fhirModel.ts';
import type { Resource } from './types.ts';

export interface ReferenceTarget {
  targetType: string;
  targetId: string;
}

// `Type/id`, optionally after a base URL and optionally followed by `/_history/vid`.
const LITERAL = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/**
 * The resource a literal reference names: `Patient/123`, `https://x.org/fhir/Patient/123`,
 * `Patient/123/_history/2`. Undefined for `urn:uuid:`, contained (`#id`) and conditional
 * references, and for unknown types.
 */
export function parseReference(reference: string): ReferenceTarget | undefined {
  const m = LITERAL.exec(reference);
  if (!m || !isResourceType(m[1])) return undefined;
  return { targetType: m[1], targetId: m[2] };
}

/**
 * The type of resource a Reference element points at, for `where(resolve() is Patient)`: from its
 * literal reference, from the contained resource it names (`#id`), or else from its `type`.
 */
export function referenceTargetType(ref: unknown, root: Resource): string | undefined {
  if (ref === null || typeof ref !== 'object') return undefined;
  const { reference, type } = ref as { reference?: unknown; type?: unknown };
  if (typeof reference === 'string') {
    if (reference.startsWith('#')) {
      const id = reference.slice(1);
      const contained = Array.isArray(root.contained) ? (root.contained as Resource[]) : [];
      const target = contained.find((r) => r?.id === id);
      if (target) return target.resourceType;
    } else {
      const target = parseReference(reference);
      if (target) return target.targetType;
    }
  }
  return typeof type === 'string' ? type : undefined;
}
