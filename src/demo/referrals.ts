/**
 * Referrals out of the practice and the specialists' replies. A referral is a ServiceRequest to a
 * specialist; its tracking is a Task that moves requested -> accepted -> completed. A completed
 * consult carries the specialist's reply in Task.note and the consult note itself (LOINC 11488-4)
 * as a DocumentReference in Task.output, which is how a referral loop is closed in FHIR.
 */
import type { Resource } from '../fhir/types.ts';
import { addDays } from './calendar.ts';
import { DOCUMENT_TYPES, SPECIALTIES, type SpecialtyKey } from './clinicalCatalog.ts';
import { at, type DemoContext } from './context.ts';
import { base64, concept, ref, SYSTEMS } from './elements.ts';
import { patientRef, type PatientProfile } from './patients.ts';
import type { Practice } from './practice.ts';
import type { Random } from './random.ts';
import type { Provider } from './visits.ts';

export interface ReferralInput {
  specialty: SpecialtyKey;
  /** The visit that placed it. */
  date: string;
  minutes: number;
  encounterId: string;
  requester: Provider;
  reasonConditionId: string;
  reasonText: string;
  question: string;
  ids: { serviceRequest: string; task: string; consultNote: string };
}

export function referralResources(
  ctx: DemoContext,
  practice: Practice,
  profile: PatientProfile,
  rng: Random,
  input: ReferralInput,
): Resource[] {
  const specialist = practice.specialists[input.specialty];
  const def = SPECIALTIES[input.specialty];
  const patient = patientRef(profile);
  const authored = at(ctx, input.date, input.minutes);
  // Specialist waits in the US run from two weeks to three months.
  const consultDate = addDays(input.date, rng.int(14, 90));
  const replyDate = addDays(consultDate, rng.int(1, 4));
  const completed = replyDate < ctx.today;
  const accepted = completed || addDays(input.date, 7) <= ctx.today;
  const specialistRef = ref('Practitioner', specialist.practitionerId, specialist.title);
  const specialistOrg = ref('Organization', specialist.organizationId, def.organization);
  const out: Resource[] = [];

  out.push({
    resourceType: 'ServiceRequest',
    id: input.ids.serviceRequest,
    status: completed ? 'completed' : 'active',
    intent: 'order',
    category: [concept(SYSTEMS.snomed, '3457005', 'Patient referral')],
    priority: 'routine',
    code: concept(SYSTEMS.snomed, '306206005', 'Referral to service', `Referral to ${def.service}`),
    subject: patient,
    encounter: ref('Encounter', input.encounterId),
    occurrencePeriod: { start: input.date, end: addDays(input.date, 90) },
    authoredOn: authored,
    requester: ref('Practitioner', input.requester.practitionerId, input.requester.title),
    performerType: concept(SYSTEMS.snomed, def.specialty.snomed, def.specialty.display),
    performer: [specialistRef, specialistOrg],
    reasonReference: [ref('Condition', input.reasonConditionId, input.reasonText)],
    note: [{ text: input.question }],
  });

  let note: string | undefined;
  if (completed) {
    const finding = rng.pick(def.consultFindings);
    const recommendation = rng.pick(def.recommendations);
    note = `Seen ${consultDate}. ${finding} Recommendations: ${recommendation}`;
    const text =
      `CONSULTATION NOTE - ${def.organization.toUpperCase()}\n` +
      `Date: ${consultDate}    Consultant: ${specialist.title}\n` +
      `Patient: ${profile.display}    Referred by: ${input.requester.title}\n\n` +
      `Reason for referral: ${input.reasonText}. ${input.question}\n\n` +
      `Findings: ${finding}\n\n` +
      `Recommendations: ${recommendation}\n\n` +
      `Thank you for this referral. A copy has been sent to the patient's portal.\n` +
      `Electronically signed by ${specialist.title}.\n`;
    out.push({
      resourceType: 'DocumentReference',
      id: input.ids.consultNote,
      status: 'current',
      docStatus: 'final',
      type: concept(SYSTEMS.loinc, DOCUMENT_TYPES.consultNote.loinc, DOCUMENT_TYPES.consultNote.display),
      category: [concept(SYSTEMS.usCoreDocCategory, 'clinical-note', 'Clinical Note')],
      subject: patient,
      date: at(ctx, replyDate, 14 * 60 + rng.int(0, 150)),
      author: [specialistRef, specialistOrg],
      custodian: specialistOrg,
      description: `${def.specialty.display} consultation`,
      content: [
        {
          attachment: {
            contentType: 'text/plain',
            language: 'en-US',
            data: base64(text),
            title: `${def.specialty.display} consult note`,
            creation: at(ctx, consultDate, 11 * 60),
          },
        },
      ],
      context: {
        period: { start: consultDate, end: consultDate },
        practiceSetting: concept(SYSTEMS.snomed, def.specialty.snomed, def.specialty.display),
        related: [ref('ServiceRequest', input.ids.serviceRequest)],
      },
    });
  }

  const status = completed ? 'completed' : accepted ? 'accepted' : 'requested';
  const lastModified = completed
    ? at(ctx, replyDate, 15 * 60)
    : accepted
      ? at(ctx, addDays(input.date, rng.int(1, 4)), 10 * 60)
      : authored;
  out.push({
    resourceType: 'Task',
    id: input.ids.task,
    status,
    businessStatus: {
      text: completed
        ? 'Consult completed, report received'
        : accepted
          ? `Appointment scheduled for ${consultDate}`
          : 'Referral sent, awaiting scheduling',
    },
    intent: 'order',
    priority: 'routine',
    code: concept(SYSTEMS.taskCode, 'fulfill', 'Fulfill the focal request'),
    description: `Referral to ${def.service}: ${input.reasonText}`,
    focus: ref('ServiceRequest', input.ids.serviceRequest, `Referral to ${def.service}`),
    for: patient,
    encounter: ref('Encounter', input.encounterId),
    executionPeriod: completed ? { start: authored, end: at(ctx, replyDate, 15 * 60) } : { start: authored },
    authoredOn: authored,
    lastModified,
    requester: ref('Practitioner', input.requester.practitionerId, input.requester.title),
    owner: specialistOrg,
    ...(accepted && !completed
      ? {
          note: [
            {
              authorString: def.organization,
              time: lastModified,
              text: `Referral received. Appointment on ${consultDate}.`,
            },
          ],
        }
      : {}),
    ...(note ? { note: [{ authorReference: specialistRef, time: lastModified, text: note }] } : {}),
    ...(completed
      ? {
          output: [
            {
              type: { text: 'Consult note' },
              valueReference: ref(
                'DocumentReference',
                input.ids.consultNote,
                `${def.specialty.display} consult note`,
              ),
            },
          ],
        }
      : {}),
  });
  return out;
}
