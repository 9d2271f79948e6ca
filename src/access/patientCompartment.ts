/**
 * The patient compartment as access control uses it: an app holding `patient/` scopes sees one
 * patient's records (the patient in its token's context) and nothing of anyone else. Membership
 * follows the R4 Patient CompartmentDefinition: a resource belongs to a patient when one of its
 * type's compartment search parameters refers to that patient. Types outside the compartment that
 * hold no patient data (the practice directory, reference data such as Medication or ValueSet) are
 * readable as the scopes allow; every other type is closed to a patient-scoped app.
 */
import { patientCompartment } from '../fhir/definitions.ts';
import { extractParameterEntries } from '../fhir/indexExtraction.ts';
import type { Criterion } from '../fhir/searchRequest.ts';
import type { Resource } from '../fhir/types.ts';
import { categoryOf } from './permissions.ts';

let compartmentParams: Map<string, ReadonlySet<string>> | undefined;

/** Each type's search parameters that link it to a patient (Patient itself: none, it is the patient). */
function paramsByType(): Map<string, ReadonlySet<string>> {
  compartmentParams ??= new Map(
    patientCompartment()
      .resource.filter((entry) => (entry.param ?? []).some((code) => code !== '{def}'))
      .map((entry) => [entry.code, new Set(entry.param!.filter((code) => code !== '{def}'))]),
  );
  return compartmentParams;
}

/** Types whose resources are no one's patient data, so a patient-scoped app may read them. */
export function holdsNoPatientData(type: string): boolean {
  const category = categoryOf(type);
  return (category === 'directory' || category === 'reference') && !paramsByType().has(type);
}

/**
 * The criterion that keeps a search of `type` inside `patientId`'s compartment, or undefined when the
 * type cannot be searched that way. One parameter per type, because criteria are ANDed: the type's
 * `patient` parameter where it has one (the compartment's main link), else `subject`, else its first.
 * A resource linked to the patient only through another parameter (a performer, say) is then not
 * found: the restriction can only hide records, never show another patient's.
 */
export function compartmentCriterion(type: string, patientId: string): Criterion | undefined {
  if (type === 'Patient') return { kind: 'id', ids: [patientId] };
  const params = paramsByType().get(type);
  if (!params) return undefined;
  const code = params.has('patient') ? 'patient' : params.has('subject') ? 'subject' : [...params][0]!;
  return { kind: 'reference', code, values: [`Patient/${patientId}`] };
}

/** The patients whose compartment `resource` is in: a Patient's own id, or its compartment links. */
export function compartmentPatients(resource: Resource): string[] {
  if (resource.resourceType === 'Patient') return resource.id === undefined ? [] : [resource.id];
  const params = paramsByType().get(resource.resourceType);
  if (!params) return [];
  const ids = new Set<string>();
  for (const entry of extractParameterEntries(resource, params))
    for (const value of entry.values)
      if (value.kind === 'reference' && value.targetType === 'Patient' && value.targetId)
        ids.add(value.targetId);
  return [...ids];
}

/** Whether `resource` is in `patientId`'s compartment (any of its compartment parameters counts). */
export function inPatientCompartment(resource: Resource, patientId: string): boolean {
  if (resource.resourceType === 'Patient') return resource.id === patientId;
  const params = paramsByType().get(resource.resourceType);
  if (!params) return false;
  return extractParameterEntries(resource, params).some((entry) =>
    entry.values.some(
      (value) => value.kind === 'reference' && value.targetType === 'Patient' && value.targetId === patientId,
    ),
  );
}
