/**
 * Index values of composite search parameters (https://hl7.org/fhir/R4/search.html#composite): for each
 * element the composite's expression selects (the Observation itself for `code-value-quantity`, each
 * Observation.component for `component-code-value-quantity`), the values of each component, read
 * relative to that element. A search matches only when all components match within one element, so
 * each element's values stay together as one `composite` value (written as one group of index rows).
 */
import type { ExtractionEngine } from './indexExtraction.ts';
import { compileFastPath, compileFastPathAt, compileFastPathElements } from './fastPath.ts';
import { compileFhirpath, compileFhirpathAt, compileFhirpathElements } from './fhirpathEvaluator.ts';
import { appendIndexValues } from './indexValues.ts';
import type { SearchParamComponent, SearchParamDef } from './searchParameters.ts';
import { INDEXED_PARAM_TYPES } from './searchRequest.ts';
import type { IndexValue, Resource, SearchParamType } from './types.ts';

/** The composite values of one resource. */
export type CompositeEvaluator = (resource: Resource) => IndexValue[];

type ElementEvaluator = (
  element: unknown,
  resource: Resource,
  visit: (type: string, value: unknown) => void,
) => void;

interface Component {
  type: SearchParamType;
  /** Compiled per model path of the element (a union can select elements of several types). */
  at: (path: string, elementType: string) => ElementEvaluator;
}

/** Compiles a composite parameter; undefined when a component is of a type that is not indexed. */
export function compileComposite(
  resourceType: string,
  def: SearchParamDef,
  engine: ExtractionEngine,
): CompositeEvaluator | undefined {
  if (def.expression === undefined || !def.components?.length) return undefined;
  if (def.components.some((c) => !c.type || !INDEXED_PARAM_TYPES.has(c.type))) return undefined;
  const components = def.components.map((c) => compileComponent(resourceType, c, engine));
  const elements = compileElements(resourceType, def.expression, engine);
  return (resource) => {
    const values: IndexValue[] = [];
    for (const { path, type, value } of elements(resource)) {
      const componentValues = components.map((component) => {
        const out: IndexValue[] = [];
        component.at(path, type)(value, resource, (t, v) => appendIndexValues(component.type, t, v, out));
        return component.type === 'token' ? codedTokens(out) : out;
      });
      // An element lacking a component cannot match a search on the composite.
      if (componentValues.every((v) => v.length > 0))
        values.push({ kind: 'composite', components: componentValues });
    }
    return values;
  };
}

/** The elements a composite's expression selects, with their model path and type. */
function compileElements(
  resourceType: string,
  expression: string,
  engine: ExtractionEngine,
): (resource: Resource) => { path: string; type: string; value: unknown }[] {
  const branches = engine === 'fast' ? compileFastPathElements(resourceType, expression) : undefined;
  if (branches) {
    return (resource) =>
      branches.flatMap(({ path, type, get }) => get(resource).map((value) => ({ path, type, value })));
  }
  // fhirpath names an element by its model path; a resource's path is its type, which is all the
  // fast path needs to know of an element's type when compiling a component against it.
  const elements = compileFhirpathElements(expression);
  return (resource) => elements(resource).map(({ path, value }) => ({ path, type: path, value }));
}

function compileComponent(
  resourceType: string,
  component: SearchParamComponent,
  engine: ExtractionEngine,
): Component {
  const type = component.type!;
  const { expression } = component;
  // `%resource.referenceSeq.chromosome` (MolecularSequence) reads the resource, whatever the element.
  const fromResource = /^%resource\.(.+)$/.exec(expression)?.[1];
  if (fromResource !== undefined) {
    const absolute = `${resourceType}.${fromResource}`;
    const evaluate =
      (engine === 'fast' ? compileFastPath(resourceType, absolute) : undefined) ?? compileFhirpath(absolute);
    const onResource: ElementEvaluator = (_element, resource, visit) => evaluate(resource, visit);
    return { type, at: () => onResource };
  }
  const compiled = new Map<string, ElementEvaluator>();
  const at = (path: string, elementType: string) => {
    let evaluate = compiled.get(path);
    if (!evaluate) {
      const fast = engine === 'fast' ? compileFastPathAt({ type: elementType, path }, expression) : undefined;
      const fallback = compileFhirpathAt(path, expression);
      evaluate = fast ? (element, _resource, visit) => fast(element as Resource, visit) : fallback;
      compiled.set(path, evaluate);
    }
    return evaluate;
  };
  return { type, at };
}

/**
 * A composite's token component matches on system and code, never on text (composites take no
 * modifiers, so no `:text`): text-only tokens and display texts would only add rows.
 */
function codedTokens(values: IndexValue[]): IndexValue[] {
  const seen = new Set<string>();
  const out: IndexValue[] = [];
  for (const v of values) {
    if (v.kind !== 'token' || v.code === undefined) continue;
    const key = `${v.system ?? ''}|${v.code}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(
      v.system === undefined
        ? { kind: 'token', code: v.code }
        : { kind: 'token', system: v.system, code: v.code },
    );
  }
  return out;
}
