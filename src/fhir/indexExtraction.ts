/**
 * The search-index values of a resource: for each search parameter of its type, the values it has.
 * Each (type, parameter) is compiled once, to a fast-path JSON walk where the expression allows and
 * to fhirpath otherwise.
 */
import type { Evaluator } from './evaluator.ts';
import { compileComposite, type CompositeEvaluator } from './compositeValues.ts';
import { compileFastPath } from './fastPath.ts';
import { compileFhirpath } from './fhirpathEvaluator.ts';
import { appendIndexValues } from './indexValues.ts';
import { searchParametersFor, type SearchParamDef } from './searchParameters.ts';
import { INDEXED_PARAM_TYPES } from './searchRequest.ts';
import type { IndexEntry, IndexValue, Resource, SearchParamType } from './types.ts';

/** `fast`: the fast path where it compiles, fhirpath elsewhere. `fhirpath`: fhirpath for everything (the reference). */
export type ExtractionEngine = 'fast' | 'fhirpath';

interface CompiledParam {
  code: string;
  type: SearchParamType;
  expression: string;
  /** Plain parameters: the compiled expression; composites have `composite` instead. */
  evaluate?: Evaluator;
  composite?: CompositeEvaluator;
  /** Whether `evaluate` is a fast-path walk. */
  fast: boolean;
}

// Composites are compiled apart; of the special parameters only Location `near` has values.
const INDEXED_TYPES = INDEXED_PARAM_TYPES;

const plans: Record<ExtractionEngine, Map<string, CompiledParam[]>> = {
  fast: new Map(),
  fhirpath: new Map(),
};

/** The index entries of `resource`, one per search parameter that has at least one value. */
export function extractIndexEntries(resource: Resource, engine: ExtractionEngine = 'fast'): IndexEntry[] {
  return extractEntries(resource, plan(resource.resourceType, engine));
}

/** The index entries of only the named parameters (what `_include` needs: one reference, not all). */
export function extractParameterEntries(resource: Resource, codes: ReadonlySet<string>): IndexEntry[] {
  return extractEntries(
    resource,
    plan(resource.resourceType, 'fast').filter((p) => codes.has(p.code)),
  );
}

function extractEntries(resource: Resource, params: CompiledParam[]): IndexEntry[] {
  const entries: IndexEntry[] = [];
  for (const param of params) {
    const values = paramValues(param, resource);
    if (values.length > 0) entries.push({ param: param.code, values });
  }
  return entries;
}

/** The parameters of a type that the fast path does not compile, and so are evaluated by fhirpath. */
export function fhirpathOnlyParameters(resourceType: string): { code: string; expression: string }[] {
  return plan(resourceType, 'fast')
    .filter((p) => !p.fast)
    .map(({ code, expression }) => ({ code, expression }));
}

function paramValues(param: CompiledParam, resource: Resource): IndexValue[] {
  const values: IndexValue[] = [];
  try {
    if (param.composite) return param.composite(resource);
    param.evaluate!(resource, (elementType, value) =>
      appendIndexValues(param.type, elementType, value, values),
    );
  } catch {
    // fhirpath can throw on data its functions do not expect (a singleton operator meeting a list).
    // Losing one parameter's index values is better than refusing a resource the validator accepted.
    return [];
  }
  return values.length > 1 ? distinct(values) : values;
}

function plan(resourceType: string, engine: ExtractionEngine): CompiledParam[] {
  let compiled = plans[engine].get(resourceType);
  if (!compiled) {
    compiled = searchParametersFor(resourceType).flatMap(
      (def) => compileParam(resourceType, def, engine) ?? [],
    );
    plans[engine].set(resourceType, compiled);
  }
  return compiled;
}

function compileParam(
  resourceType: string,
  def: SearchParamDef,
  engine: ExtractionEngine,
): CompiledParam | undefined {
  const { code, type, expression } = def;
  if (expression !== undefined && type === 'composite') {
    const composite = compileComposite(resourceType, def, engine);
    return composite && { code, type, expression, composite, fast: engine === 'fast' };
  }
  const indexed = INDEXED_TYPES.has(type) || (type === 'special' && code === 'near');
  if (expression === undefined || !indexed) return undefined;
  const fast = engine === 'fast' ? compileFastPath(resourceType, expression) : undefined;
  const evaluate = fast ?? compileFhirpath(expression);
  return { code, type, expression, evaluate, fast: fast !== undefined };
}

function distinct(values: IndexValue[]): IndexValue[] {
  const seen = new Set<string>();
  return values.filter((value) => {
    const key = valueKey(value);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Identical values give identical keys whatever order their properties were set in. */
function valueKey(v: IndexValue): string {
  switch (v.kind) {
    case 'string':
    case 'uri':
      return `${v.kind}\u0000${v.value}`;
    case 'number':
      return `n\u0000${v.value}\u0000${v.high}`;
    case 'token':
      return `t\u0000${v.system ?? '\u0001'}\u0000${v.code ?? '\u0001'}\u0000${v.text ?? '\u0001'}`;
    case 'date':
      return `d\u0000${v.start}\u0000${v.end}`;
    case 'reference':
      return `r\u0000${v.reference}`;
    case 'quantity':
      return `q\u0000${v.value}\u0000${v.high}\u0000${v.system ?? '\u0001'}\u0000${v.code ?? '\u0001'}\u0000${v.unit ?? '\u0001'}`;
    case 'composite':
      return `c\u0000${JSON.stringify(v.components)}`;
  }
}
