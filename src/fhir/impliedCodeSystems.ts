/**
 * Elements of type `code` carry no system: it is implied by their required binding
 * (`Patient.gender` draws from http://hl7.org/fhir/administrative-gender). They are indexed with an
 * empty system, so that `gender=male` and `gender=|male` find them; this module lets
 * `gender=http://hl7.org/fhir/administrative-gender|male` find them too, by knowing which
 * `system|code` pairs each parameter's code elements imply.
 */
import { searchParametersFor } from './searchParameters.ts';
import { resourceModel, type ComplexModel, type ElementRule } from './validation/elementModel.ts';

const cache = new Map<string, ReadonlySet<string> | undefined>();

/** The `system|code` pairs that the code elements of parameter `code` on `type` imply, if any. */
export function impliedSystemCodes(type: string, code: string): ReadonlySet<string> | undefined {
  const key = `${type}.${code}`;
  if (!cache.has(key)) cache.set(key, compute(type, code));
  return cache.get(key);
}

function compute(type: string, code: string): ReadonlySet<string> | undefined {
  const expression = searchParametersFor(type).find((p) => p.code === code)?.expression;
  const model = resourceModel(type);
  if (!expression || !model) return undefined;
  const pairs = new Set<string>();
  // Only plain paths (`Observation.status`, `A.x | A.y`): anything with functions is left alone.
  for (const path of expression.split('|').map((p) => p.trim())) {
    if (!/^[A-Za-z]+(\.[A-Za-z]+)+$/.test(path) || !path.startsWith(`${type}.`)) continue;
    const element = elementAt(model, path.split('.').slice(1));
    if (element?.typeName === 'code' && element.binding)
      for (const pair of element.binding.systemCodes) pairs.add(pair);
  }
  return pairs.size > 0 ? pairs : undefined;
}

function elementAt(model: ComplexModel, names: string[]): ElementRule | undefined {
  let current: ComplexModel | undefined = model;
  let element: ElementRule | undefined;
  for (const name of names) {
    element = current?.elements.get(name);
    if (!element) return undefined;
    current = element.model;
  }
  return element;
}
