/**
 * SMART on FHIR scopes, in both forms, turned into the same interaction sets that permissions.ts uses.
 *
 * v2 (SMART App Launch 2): `context/Type.permissions`, permissions a subset of `cruds` in that order:
 * c = create, r = read (read, vread, instance history), u = update, d = delete, s = search (and
 * type-level history). v1: `context/Type.read` (every read and search), `.write` (create, update,
 * delete) or `.*` (both). Context is `patient`, `user` or `system`; Type a resource type or `*`.
 * Export (Bulk Data) needs read and search on the type. v2 query-narrowed scopes
 * (`patient/Observation.rs?category=...`) are not accepted: they are refused, never widened.
 */
import { INTERACTIONS, type Interaction } from './interactions.ts';

export type ScopeContext = 'patient' | 'user' | 'system';

export interface ParsedScope {
  scope: string;
  context: ScopeContext;
  /** A resource type, or `*` for all. */
  resourceType: string;
  interactions: ReadonlySet<Interaction>;
}

const SCOPE_PATTERN = /^(patient|user|system)\/(\*|[A-Z][A-Za-z]+)\.(\*|read|write|c?r?u?d?s?)$/;

const V1: Record<string, Interaction[]> = {
  read: ['read', 'search', 'history', 'export'],
  write: ['create', 'update', 'delete'],
  '*': [...INTERACTIONS],
};

const V2: Record<string, Interaction[]> = {
  c: ['create'],
  r: ['read', 'history'],
  u: ['update'],
  d: ['delete'],
  s: ['search', 'history'],
};

/** One resource scope, or undefined when it is not one (openid, launch, offline_access... or a typo). */
export function parseScope(scope: string): ParsedScope | undefined {
  const match = SCOPE_PATTERN.exec(scope);
  if (!match || match[3] === '') return undefined;
  const [, context, resourceType, permissions] = match as unknown as [string, ScopeContext, string, string];
  const interactions = new Set<Interaction>(
    V1[permissions] ?? [...permissions].flatMap((letter) => V2[letter] ?? []),
  );
  if (V1[permissions] === undefined && interactions.has('read') && interactions.has('search')) {
    interactions.add('export');
  }
  return { scope, context, resourceType, interactions };
}

/** Splits a space-separated scope string; unknown scopes go to `unknown` (the caller decides). */
export function parseScopes(scopeText: string): { resourceScopes: ParsedScope[]; unknown: string[] } {
  const resourceScopes: ParsedScope[] = [];
  const unknown: string[] = [];
  for (const scope of scopeText.split(/\s+/).filter(Boolean)) {
    const parsed = parseScope(scope);
    if (parsed) resourceScopes.push(parsed);
    else unknown.push(scope);
  }
  return { resourceScopes, unknown };
}

/** True when some scope grants `interaction` on `resourceType`. */
export function scopesAllow(
  scopes: readonly ParsedScope[],
  interaction: Interaction,
  resourceType: string,
): boolean {
  return scopes.some(
    (scope) =>
      (scope.resourceType === '*' || scope.resourceType === resourceType) &&
      scope.interactions.has(interaction),
  );
}

/**
 * True when everything `requested` grants is also granted by `held` (same context; a wildcard type is
 * covered only by a wildcard). Used to check that a client asks for no more than it was registered for.
 */
export function scopeCoveredBy(requested: ParsedScope, held: readonly ParsedScope[]): boolean {
  return [...requested.interactions].every((interaction) =>
    held.some(
      (scope) =>
        scope.context === requested.context &&
        (scope.resourceType === '*' || scope.resourceType === requested.resourceType) &&
        scope.interactions.has(interaction),
    ),
  );
}
