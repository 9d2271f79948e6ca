/**
 * The invariants (StructureDefinition `constraint`s) of an element, ready to evaluate, in the
 * cheapest way that gives FHIRPath's answer: a few hot ones natively (nativeInvariants.ts), pure
 * existence logic as a presence test (existenceLogic.ts), and the rest with the `fhirpath` package,
 * compiled on first use and skipped when the children they read are absent (invariantScope.ts).
 * An expression that fhirpath cannot evaluate counts as "not checked", never as a violation.
 */
import fhirpath from 'fhirpath';
import r4model from 'fhirpath/fhir-context/r4';
import { compileExistenceLogic } from './existenceLogic.ts';
import { absenceGuards, leadingNames } from './invariantScope.ts';
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

/** Whether `node` has any of `properties`; iterates the node's own keys since it has few. */
function hasAny(node: Json, properties: Set<string>): boolean {
  for (const property in node) if (properties.has(property)) return true;
  return false;
}

function fhirpathCheck(expression: string, basePath: string, childProperties: ChildProperties): Check {
  let evaluate: Evaluator | undefined;
  // Properties whose absence makes the result constant, and that constant.
  let gate: Set<string> | undefined;
  let whenAbsent: boolean | undefined;
  // Properties any one of whose absence makes the result true.
  let guards: Set<string>[] = [];
  let prepared = false;

  const run = (node: unknown, env: InvariantEnv): boolean | undefined => {
    try {
      evaluate ??= fhirpath.compile({ base: basePath, expression }, r4model, FHIRPATH_OPTIONS) as Evaluator;
      return outcome(evaluate(node, env));
    } catch {
      return undefined;
    }
  };

  const propertiesOf = (names: string[]): Set<string> | undefined => {
    const properties = new Set<string>();
    for (const name of names) {
      const props = childProperties(name);
      if (!props) return undefined;
      for (const p of props) properties.add(p);
    }
    return properties;
  };

  const prepare = () => {
    prepared = true;
    const names = leadingNames(expression);
    gate = names && propertiesOf(names);
    if (gate) whenAbsent = run({}, { resource: {}, rootResource: {} });
    guards = absenceGuards(expression)
      .map((name) => propertiesOf([name]))
      .filter((p): p is Set<string> => p !== undefined);
  };

  return (node, env) => {
    if (!prepared) prepare();
    if (isObject(node)) {
      if (gate && !hasAny(node, gate)) return whenAbsent;
      for (const guard of guards) if (!hasAny(node, guard)) return true;
    }
    return run(node, env);
  };
}

/**
 * R4 expressions that fhirpath.js reads differently from the specification's intent. que-7's
 * `answer is Boolean` names System.Boolean, which a FHIR boolean is not to fhirpath.js, so every
 * valid `exists` condition would fail; R5 corrected it to `answer is boolean`.
 */
const CORRECTED_EXPRESSIONS: Record<string, string> = {
  "operator = 'exists' implies (answer is Boolean)": "operator = 'exists' implies (answer is boolean)",
};

/**
 * An invariant of the element at `basePath` (a type name like `Period`, or an element path like
 * `Patient.contact`), or undefined when it is not checked here (ele-1, or no expression).
 */
export function compileInvariant(
  constraint: Constraint,
  basePath: string,
  childProperties: ChildProperties,
): Invariant | undefined {
  const { key } = constraint;
  if (NATIVE_IN_WALKER.has(key) || !constraint.expression) return undefined;
  const expression = CORRECTED_EXPRESSIONS[constraint.expression] ?? constraint.expression;
  // Chosen on first use: the element models that childProperties reads are complete by then.
  let check: Check | undefined = NATIVE_INVARIANTS[key];
  const holds: Check = (node, env) => {
    if (!check) {
      const presence = compileExistenceLogic(expression, childProperties);
      check = presence
        ? (n) => (isObject(n) ? presence(n) : undefined)
        : fhirpathCheck(expression, basePath, childProperties);
    }
    return check(node, env);
  };
  return { key, severity: constraint.severity, human: constraint.human, expression, holds };
}
