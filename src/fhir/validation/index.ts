/**
 * Validation of incoming FHIR R4 resources against the official StructureDefinitions: structure,
 * JSON types, cardinality, primitive formats, required value-set bindings and invariants.
 */
import { FhirError, type Issue } from '../outcome.ts';
import type { Resource } from '../types.ts';
import { concreteResourceTypes, isConcreteResourceType } from './structureDefinitions.ts';
import { validate } from './validator.ts';

export { MAX_DEPTH } from './validator.ts';

/** Every problem with `resource` as OperationOutcome issues; an empty array when it is valid. */
export function validateResource(resource: unknown): Issue[] {
  return validate(resource);
}

/** Throws a 400 FhirError carrying the issues when `resource` has any error (warnings pass). */
export function assertValidResource(resource: unknown): asserts resource is Resource {
  const issues = validate(resource);
  if (issues.some((i) => i.severity === 'error' || i.severity === 'fatal')) throw new FhirError(400, issues);
}

/** Whether `type` names a concrete R4 resource type (not Resource or DomainResource). */
export function isKnownResourceType(type: string): boolean {
  return isConcreteResourceType(type);
}

/** The concrete R4 resource types, sorted. */
export function resourceTypes(): string[] {
  return concreteResourceTypes();
}
