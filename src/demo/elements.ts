/** Builders for the FHIR data types the demo writes over and over (Coding, Reference, Quantity...). */

export const SYSTEMS = {
  snomed: 'http://snomed.info/sct',
  loinc: 'http://loinc.org',
  rxnorm: 'http://www.nlm.nih.gov/research/umls/rxnorm',
  cvx: 'http://hl7.org/fhir/sid/cvx',
  icd10cm: 'http://hl7.org/fhir/sid/icd-10-cm',
  ucum: 'http://unitsofmeasure.org',
  npi: 'http://hl7.org/fhir/sid/us-npi',
  mrn: 'urn:chartvault:demo:mrn',
  staffId: 'urn:chartvault:demo:staff',
  v2IdentifierType: 'http://terminology.hl7.org/CodeSystem/v2-0203',
  v2Degree: 'http://terminology.hl7.org/CodeSystem/v2-0360|2.7',
  v2ContactRole: 'http://terminology.hl7.org/CodeSystem/v2-0131',
  v2AppointmentType: 'http://terminology.hl7.org/CodeSystem/v2-0276',
  v2PerformerFunction: 'http://terminology.hl7.org/CodeSystem/v2-0443',
  v2DiagnosticSection: 'http://terminology.hl7.org/CodeSystem/v2-0074',
  v3RoleCode: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode',
  v3ActCode: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
  v3MaritalStatus: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus',
  v3ParticipationType: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
  v3Interpretation: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation',
  v3Confidentiality: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality',
  v3ActSite: 'http://terminology.hl7.org/CodeSystem/v3-ActSite',
  v3Route: 'http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration',
  orgType: 'http://terminology.hl7.org/CodeSystem/organization-type',
  practitionerRole: 'http://terminology.hl7.org/CodeSystem/practitioner-role',
  serviceCategory: 'http://terminology.hl7.org/CodeSystem/service-category',
  serviceType: 'http://terminology.hl7.org/CodeSystem/service-type',
  cancelReason: 'http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason',
  obsCategory: 'http://terminology.hl7.org/CodeSystem/observation-category',
  conditionClinical: 'http://terminology.hl7.org/CodeSystem/condition-clinical',
  conditionVerification: 'http://terminology.hl7.org/CodeSystem/condition-ver-status',
  conditionCategory: 'http://terminology.hl7.org/CodeSystem/condition-category',
  allergyClinical: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical',
  allergyVerification: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification',
  medRequestCategory: 'http://terminology.hl7.org/CodeSystem/medicationrequest-category',
  immunizationOrigin: 'http://terminology.hl7.org/CodeSystem/immunization-origin',
  taskCode: 'http://hl7.org/fhir/CodeSystem/task-code',
  consentScope: 'http://terminology.hl7.org/CodeSystem/consentscope',
  consentCategory: 'http://terminology.hl7.org/CodeSystem/consentcategorycodes',
  usCoreDocCategory: 'http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category',
  language: 'urn:ietf:bcp:47',
} as const;

export interface Coding {
  system: string;
  code: string;
  display?: string;
}

export interface CodeableConcept {
  coding?: Coding[];
  text?: string;
}

export interface Reference {
  reference: string;
  display?: string;
}

export const coding = (system: string, code: string, display?: string): Coding =>
  display === undefined ? { system, code } : { system, code, display };

export const concept = (system: string, code: string, display: string, text?: string): CodeableConcept => ({
  coding: [coding(system, code, display)],
  ...(text ? { text } : {}),
});

export const ref = (resourceType: string, id: string, display?: string): Reference =>
  display === undefined
    ? { reference: `${resourceType}/${id}` }
    : { reference: `${resourceType}/${id}`, display };

/** A UCUM quantity; `unit` is the human-readable form, `code` the UCUM code. */
export const quantity = (value: number, unit: string, code = unit) => ({
  value,
  unit,
  system: SYSTEMS.ucum,
  code,
});

/** Rounds to a fixed number of decimals without float noise in the JSON (7.199999 -> 7.2). */
export const round = (value: number, decimals: number) => Number(value.toFixed(decimals));

/** Base64 of UTF-8 text, for Attachment.data. */
export const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
