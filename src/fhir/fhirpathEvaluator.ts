/**
 * Search expressions evaluated by the `fhirpath` package: the fallback for what the fast path does
 * not compile, and the reference the fast path is tested against. Two rewrites make the R4
 * expressions usable on stored resources:
 * - `resolve() is T` becomes a check of the reference's target type: fhirpath can only resolve by
 *   fetching (and throws when evaluating synchronously), while an index only needs the type, which
 *   `Patient/123` states.
 * - `X as T` and `X.as(T)` become `X.ofType(T)`: fhirpath's `as` throws on more than one value, so
 *   `(Observation.component.value as Quantity)` would fail on every blood pressure.
 * The parts of a top-level union are evaluated one by one: `|` drops values that FHIRPath equality
 * finds equal, and that equality compares decimals loosely (`1e-245 = 1e-22`), while the index
 * keeps every distinct value (and deduplicates exactly afterwards).
 */
import fhirpath, { type UserInvocationTable } from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import type { Evaluator, Visitor } from './evaluator.ts';
import { normalizeTypeName } from './fhirModel.ts';
import { referenceTargetType } from './referenceTarget.ts';
import { splitUnion } from './searchParameters.ts';
import type { Resource } from './types.ts';

const TARGET_TYPE_FN = 'chartvaultTargetType';

/** What fhirpath hands a user function with `internalStructures`: its nodes and its context. */
interface Node {
  data?: unknown;
}
interface EvalContext {
  dataRoot: Node[];
}

const userInvocationTable: UserInvocationTable = {
  [TARGET_TYPE_FN]: {
    fn: function (this: EvalContext, references: Node[]) {
      const root = this.dataRoot[0]?.data as Resource;
      return references.map((node) => referenceTargetType(node.data, root) ?? '');
    },
    arity: { 0: [] },
    internalStructures: true,
  },
};

/** The expression as this module hands it to fhirpath. */
export function rewriteForFhirpath(expression: string): string {
  return expression
    .replace(/\bresolve\(\)\s+is\s+([A-Za-z]+)/g, `${TARGET_TYPE_FN}() = '$1'`)
    .replace(/\.as\(/g, '.ofType(')
    .replace(/\s+as\s+([A-Za-z.]+)/g, '.ofType($1)');
}

/** Compiles `expression` once; the evaluator then runs fhirpath on each resource. */
export function compileFhirpath(expression: string): Evaluator {
  const parts = splitUnion(expression).map((part) =>
    fhirpath.compile(rewriteForFhirpath(part), r4, { resolveInternalTypes: false, userInvocationTable }),
  );
  return (resource, visit) => {
    for (const evaluate of parts) {
      const results = evaluate(resource);
      const types = fhirpath.types(results);
      for (let i = 0; i < results.length; i++) {
        visit(normalizeTypeName(types[i]), plainValue(results[i]));
      }
    }
  };
}

/** The elements `expression` selects, each with its model path (`Observation.component`) and JSON. */
export function compileFhirpathElements(
  expression: string,
): (resource: Resource) => { path: string; value: unknown }[] {
  const parts = splitUnion(expression).map((part) =>
    fhirpath.compile(rewriteForFhirpath(part), r4, { resolveInternalTypes: false, userInvocationTable }),
  );
  return (resource) =>
    parts.flatMap((evaluate) =>
      (evaluate(resource) as { path?: string; data?: unknown }[]).flatMap((node) =>
        typeof node.path === 'string' ? [{ path: node.path, value: node.data }] : [],
      ),
    );
}

/**
 * `expression` relative to an element at model path `base` (a composite's component); `%resource` is
 * the resource the element is in.
 */
export function compileFhirpathAt(
  base: string,
  expression: string,
): (element: unknown, resource: Resource, visit: Visitor) => void {
  const parts = splitUnion(expression).map((part) =>
    fhirpath.compile({ base, expression: rewriteForFhirpath(part) }, r4, {
      resolveInternalTypes: false,
      userInvocationTable,
    }),
  );
  return (element, resource, visit) => {
    for (const evaluate of parts) {
      const results = evaluate(element as Resource, { resource });
      const types = fhirpath.types(results);
      for (let i = 0; i < results.length; i++) {
        visit(normalizeTypeName(types[i]), plainValue(results[i]));
      }
    }
  };
}

/** The JSON behind a result: a resource node's data, or a value the expression computed (`true`). */
function plainValue(result: unknown): unknown {
  const data = fhirpath.util.valData(result) as unknown;
  if (data === null || typeof data !== 'object' || Object.getPrototypeOf(data) === Object.prototype)
    return data;
  return fhirpath.resolveInternalTypes(data); // an FP_DateTime or FP_Quantity made by the expression
}
