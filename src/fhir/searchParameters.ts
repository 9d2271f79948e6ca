/**
 * The R4 search parameters of each resource type, from the official SearchParameter definitions.
 * A definition may serve many types (`clinical-patient` has 33 bases and a 33-part union
 * expression); here each type gets its own definition holding only the part of the expression
 * that applies to it.
 */
import { searchParameterBundle } from './definitions.ts';
import { isSubtypeOf, resourceTypeNames } from './fhirModel.ts';
import type { SearchParamType } from './types.ts';

/** One component of a composite parameter, e.g. `code` and `value-quantity` of `code-value-quantity`. */
export interface SearchParamComponent {
  /** Code of the component's own search parameter; undefined if its definition is not in R4. */
  code?: string;
  /** Type of the component's own search parameter, which decides how its values are read. */
  type?: SearchParamType;
  /** FHIRPath relative to each item that the composite's expression yields (`value.as(Quantity)`). */
  expression: string;
  /** Canonical URL of the component's search parameter. */
  definition: string;
}

export interface SearchParamDef {
  code: string;
  type: SearchParamType;
  /**
   * FHIRPath for this resource type only. Undefined for parameters that the spec leaves to the
   * server (`_text`, `_content`, `_query`).
   */
  expression?: string;
  /** Resource types a reference parameter may point at; empty for other types. */
  targets: readonly string[];
  /** Present on composite parameters. */
  components?: readonly SearchParamComponent[];
  /** Canonical URL of the SearchParameter it comes from. */
  url: string;
}

interface SearchParameterResource {
  url: string;
  code: string;
  type: SearchParamType;
  base: string[];
  expression?: string;
  target?: string[];
  component?: { definition: string; expression: string }[];
}

/** Every R4 resource type name, e.g. for routing and validation of `resourceType`. */
export const resourceTypes: readonly string[] = resourceTypeNames;

interface TypeParameters {
  list: readonly SearchParamDef[];
  byCode: ReadonlyMap<string, SearchParamDef>;
}

let byType: Map<string, TypeParameters> | undefined;

/** The search parameters that apply to a resource type, `_id` and the other Resource ones included. */
export function searchParametersFor(resourceType: string): readonly SearchParamDef[] {
  return index().get(resourceType)?.list ?? [];
}

/** One search parameter of a resource type by its code, or undefined. */
export function getSearchParameter(resourceType: string, code: string): SearchParamDef | undefined {
  return index().get(resourceType)?.byCode.get(code);
}

function index(): Map<string, TypeParameters> {
  if (byType) return byType;
  const definitions = searchParameterBundle().entry.map(
    (e) => e.resource as unknown as SearchParameterResource,
  );
  const byUrl = new Map(definitions.map((d) => [d.url, d]));
  const byCode = new Map(resourceTypes.map((t) => [t, new Map<string, SearchParamDef>()]));
  for (const sp of definitions) {
    for (const base of sp.base) {
      // `Resource` and `DomainResource` parameters apply to every type that derives from them.
      const types =
        base === 'Resource' || base === 'DomainResource'
          ? resourceTypes.filter((t) => isSubtypeOf(t, base))
          : [base];
      for (const type of types) {
        byCode.get(type)?.set(sp.code, definitionFor(sp, type, byUrl));
      }
    }
  }
  byType = new Map(
    [...byCode].map(([type, params]) => [type, { list: [...params.values()], byCode: params }]),
  );
  return byType;
}

function definitionFor(
  sp: SearchParameterResource,
  resourceType: string,
  byUrl: Map<string, SearchParameterResource>,
): SearchParamDef {
  const def: SearchParamDef = {
    code: sp.code,
    type: sp.type,
    expression: sp.expression === undefined ? undefined : expressionFor(sp.expression, resourceType),
    targets: sp.target ?? [],
    url: sp.url,
  };
  if (sp.component) {
    def.components = sp.component.map((c) => {
      const component = byUrl.get(c.definition);
      return {
        code: component?.code,
        type: component?.type,
        expression: COMPONENT_ERRATA[c.definition]?.[c.expression] ?? c.expression,
        definition: c.definition,
      };
    });
  }
  return def;
}

/**
 * Component expressions the R4 definitions got wrong, by component definition: DocumentReference
 * `relationship` gives its reference component (`relatesto`) the expression `code` and its token one
 * (`relation`) `target`; swapped, as later FHIR versions have them, they index what they name.
 */
const COMPONENT_ERRATA: Record<string, Record<string, string>> = {
  'http://hl7.org/fhir/SearchParameter/DocumentReference-relatesto': { code: 'target' },
  'http://hl7.org/fhir/SearchParameter/DocumentReference-relation': { target: 'code' },
};

/**
 * The parts of a union expression that apply to `resourceType`, joined back with `|`; undefined when
 * none does. A part applies when it starts at that type, at `Resource` / `DomainResource`, or at an
 * element name (`InsurancePlan-name` is just `name | alias`).
 */
export function expressionFor(expression: string, resourceType: string): string | undefined {
  const parts = splitUnion(expression).filter((part) => {
    const root = /^\(*\s*([A-Za-z]+)/.exec(part)?.[1] ?? '';
    const isTypeName = root[0] === root[0]?.toUpperCase();
    return !isTypeName || root === resourceType || root === 'Resource' || root === 'DomainResource';
  });
  return parts.length > 0 ? parts.join(' | ') : undefined;
}

/** Splits `A.x | (B.y as T) | C.z.where(s='|')` at its top-level `|` only. */
export function splitUnion(expression: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let from = 0;
  for (let i = 0; i < expression.length; i++) {
    const c = expression[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === "'" || c === '`') quote = c;
    else if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    else if (c === '|' && depth === 0) {
      parts.push(expression.slice(from, i).trim());
      from = i + 1;
    }
  }
  parts.push(expression.slice(from).trim());
  return parts.filter((p) => p.length > 0);
}
