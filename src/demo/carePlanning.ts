/**
 * The parts of a chart about who looks after the patient and what they want: the CareTeam
 * (primary clinician, care-coordinating nurse, the patient, specialists involved), and for some
 * patients an advance directive, kept both as the scanned document (DocumentReference, LOINC
 * 42348-3) and as a computable Consent with scope `adr`.
 */
import type { Resource } from '../fhir/types.ts';
import { DOCUMENT_TYPES, OCCUPATIONS, SPECIALTIES, type SpecialtyKey } from './clinicalCatalog.ts';
import { at, type DemoContext } from './context.ts';
import { base64, concept, ref, SYSTEMS } from './elements.ts';
import { displayName } from './names.ts';
import { patientRef, type PatientProfile } from './patients.ts';
import { practiceRef, type Practice } from './practice.ts';

const role = (c: { snomed: string; display: string }) => [concept(SYSTEMS.snomed, c.snomed, c.display)];

export function careTeam(
  practice: Practice,
  profile: PatientProfile,
  id: string,
  specialties: SpecialtyKey[],
): Resource {
  const gp = profile.gp;
  const gpRole =
    gp.kind === 'physician'
      ? OCCUPATIONS.primaryCarePhysician
      : gp.kind === 'nursePractitioner'
        ? OCCUPATIONS.nursePractitioner
        : OCCUPATIONS.physicianAssistant;
  const nurse = practice.staff.nurse;
  return {
    resourceType: 'CareTeam',
    id,
    status: 'active',
    category: [concept(SYSTEMS.loinc, 'LA27976-2', 'Longitudinal care-coordination focused care team')],
    name: `Primary care team for ${profile.display}`,
    subject: patientRef(profile),
    period: { start: profile.firstVisit },
    participant: [
      {
        role: role(gpRole),
        member: ref('Practitioner', gp.practitionerId, gp.title),
        onBehalfOf: practiceRef(practice),
      },
      {
        role: role(OCCUPATIONS.registeredNurse),
        member: ref('Practitioner', nurse.practitionerId, nurse.title),
        onBehalfOf: practiceRef(practice),
      },
      { role: role(OCCUPATIONS.patient), member: patientRef(profile) },
      ...specialties.map((key) => {
        const s = practice.specialists[key];
        return {
          role: role(SPECIALTIES[key].occupation),
          member: ref('Practitioner', s.practitionerId, s.title),
          onBehalfOf: ref('Organization', s.organizationId, SPECIALTIES[key].organization),
        };
      }),
    ],
    managingOrganization: [practiceRef(practice)],
  };
}

export interface DirectiveInput {
  date: string;
  minutes: number;
  encounterId: string;
  ids: { document: string; consent: string };
}

export function advanceDirective(
  ctx: DemoContext,
  practice: Practice,
  profile: PatientProfile,
  input: DirectiveInput,
): Resource[] {
  const dnr = profile.advanceDirective === 'dnr';
  const agent = displayName(profile.contactName);
  const text =
    `ADVANCE DIRECTIVE (scanned copy on file)\n` +
    `Patient: ${profile.display}    Date signed: ${input.date}\n\n` +
    `Living will and durable power of attorney for health care.\n` +
    `Health care agent: ${agent}.\n` +
    (dnr
      ? 'Wishes: Do not attempt cardiopulmonary resuscitation (DNR). No mechanical ventilation. Comfort-focused care if terminally ill.\n'
      : 'Wishes: Full treatment, including resuscitation; the agent decides if the patient cannot.\n') +
    `Witnessed by two adults; notarized.\n`;
  const patient = patientRef(profile);
  const when = at(ctx, input.date, input.minutes);
  return [
    {
      resourceType: 'DocumentReference',
      id: input.ids.document,
      status: 'current',
      docStatus: 'final',
      type: concept(
        SYSTEMS.loinc,
        DOCUMENT_TYPES.advanceDirective.loinc,
        DOCUMENT_TYPES.advanceDirective.display,
      ),
      category: [concept(SYSTEMS.usCoreDocCategory, 'clinical-note', 'Clinical Note')],
      subject: patient,
      date: when,
      author: [patient],
      custodian: practiceRef(practice),
      description: dnr
        ? 'Advance directive: DNR, health care agent named'
        : 'Advance directive: health care agent named',
      content: [
        {
          attachment: {
            contentType: 'text/plain',
            language: 'en-US',
            data: base64(text),
            title: 'Advance directive',
            creation: when,
          },
        },
      ],
      context: { encounter: [ref('Encounter', input.encounterId)] },
    },
    {
      resourceType: 'Consent',
      id: input.ids.consent,
      status: 'active',
      scope: concept(SYSTEMS.consentScope, 'adr', 'Advanced Care Directive'),
      category: [
        concept(
          SYSTEMS.consentCategory,
          dnr ? 'dnr' : 'acd',
          dnr ? 'Do Not Resuscitate' : 'Advance Directive',
        ),
      ],
      patient,
      dateTime: when,
      performer: [patient],
      organization: [practiceRef(practice)],
      sourceReference: ref('DocumentReference', input.ids.document, 'Advance directive'),
      policyRule: { text: 'State advance directive and health care power of attorney statutes' },
      provision: dnr
        ? {
            type: 'deny',
            code: [
              concept(
                SYSTEMS.snomed,
                '89666000',
                'Cardiopulmonary resuscitation',
                'Cardiopulmonary resuscitation',
              ),
            ],
          }
        : { type: 'permit' },
    },
  ];
}
