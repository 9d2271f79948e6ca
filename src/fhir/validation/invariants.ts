/**
 * The invariants (StructureDefinition `constraint`s) of an element, ready to evaluate. The hottest
 * few are implemented natively (nativeInvariants.ts); the rest are FHIRPath expressions run by the
 * `fhirpath` package, compiled on first use. An expression that fhirpath
 * cannot evaluate counts as "not checked", never as a violation.
 */
import fhirpath from 'fhirpath';
import r4model from 'fhirpath/fhir-context/r4';
import { leadingNames } from './invariantScope.ts';
import { NATIVE_INVARIANTS } from './nativeInvariants.ts';
import type { Constraint } from './structureDefinitions.ts';

type Json = Record<string, unknown>;

/** What `%resource` and `%rootResource` are for the element being checked. */
export interface InvariantEnv {
  resource: Json;
  rootResource: Json;
}

export interface Invariant {
  key: string;
  severity: 'error' | 'warning';
  human: string;
  expression: string;
  /** False when the value violates the invariant; undefined when it could not be evaluated. */
  holds(node: unknown, env: InvariantEnv): boolean | undefined;
}

/** Maps a child element name (`value`) to the JSON properties that carry it (`valueString`, `_valueString`...). */
export type ChildProperties = (name: string) => string[] | undefined;

type Check = (node: unknown, env: InvariantEnv) => boolean | undefined;
type Evaluator = (node: unknown, env: InvariantEnv) => unknown;

/** ele-1 is checked by the walker itself, on every element, without fhirpath. */
export const NATIVE_IN_WALKER = new Set(['ele-1']);

const isObject = (node: unknown): node is Json => typeof node === 'object' && node !== null;

// trace() in dom-3 would otherwise print to the console on every evaluation.
const FHIRPATH_OPTIONS = { traceFn: () => undefined };

function outcome(result: unknown): boolean | undefined {
  if (!Array.isArray(result)) {
    // An async function (resolve() against a server) returned a promise: not something to wait for.
    Promise.resolve(result).catch(() => undefined);
    return undefined;
  }
  if (result.length !== 1 || typeof result[0] !== 'boolean') return undefined;
  return result[0];
}

function fhirpathCheck(expression: string, basePath: string, childProperties: ChildProperties): Check {
  let evaluate: Evaluator | undefined;
  // The properties whose absence makes the result constant, and that constant.
  let gate: string[] | null | undefined;
  let whenAbsent: boolean | undefined;

  const run = (node: unknown, env: InvariantEnv): boolean | undefined => {
    try {
      evaluate ??= fhirpath.compile({ base: basePath, expression }, r4model, FHIRPATH_OPTIONS) as Evaluator;
      return outcome(evaluate(node, env));
    } catch {
      return undefined;
    }
  };

  const prepare = () => {
    gate = null;
    const names = leadingNames(expression);
    if (!names) return;
    const properties: string[] = [];
    for (const name of names) {
      const props = childProperties(name);
      if (!props) return;
      properties.push(...props);
    }
    gate = properties;
    whenAbsent = run({}, { resource: {}, rootResource: {} });
  };

  return (node, env) => {
    if (gate === undefined) prepare();
    if (gate && isObject(node)) {
      let present = false;
      for (const property of gate) {
        if (node[property] !== undefined) {
          present = true;
          break;
        }
      }
      if (!present) return whenAbsent;
    }
    return run(node, env);
  };
}

/**
 * An invariant of the element at `basePath` (a type name like `Period`, or an element path like
 * `Patient.contact`), or undefined when it is not checked here (ele-1, or no expression).
 */
export function compileInvariant(
  constraint: Constraint,
  basePath: string,
  childProperties: ChildProperties,
): Invariant | undefined {
  const { key, expression } = constraint;
  if (NATIVE_IN_WALKER.has(key) || !expression) return undefined;
  const holds = NATIVE_INVARIANTS[key] ?? fhirpathCheck(expression, basePath, childProperties);
  return { key, severity: constraint.severity, human: constraint.human, expression, holds };
}
