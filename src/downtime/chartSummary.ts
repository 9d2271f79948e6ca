/**
 * One patient's downtime chart, summarised from their FHIR resources: what a clinician needs to see a
 * patient safely without the server (allergies, problems, active medications, recent results and
 * notes, open referrals, advance directives), bounded so that a chart with thousands of results
 * still fits.
 */
import type { Resource } from '../fhir/types.ts';
import type { PatientChart, Series } from './contentModel.ts';
import {
  addressText,
  asArray,
  codeKey,
  codeText,
  conceptsHaveCode,
  eventDate,
  hasCode,
  humanName,
  observationValue,
  preferredName,
  referenceText,
  sortableName,
  telecomText,
  textList,
} from './fhirText.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- reads arbitrary FHIR JSON */

export interface ChartResources {
  patient: Resource;
  conditions: Resource[];
  medications: Resource[];
  allergies: Resource[];
  immunizations: Resource[];
  /** Newest first. */
  vitals: Resource[];
  /** Newest first. */
  labs: Resource[];
  /** Newest first. */
  notes: Resource[];
  serviceRequests: Resource[];
  tasks: Resource[];
  careTeams: Resource[];
  consents: Resource[];
}

export const LIMITS = {
  pointsPerLab: 20,
  pointsPerVital: 10,
  notes: 3,
  noteCharacters: 20_000,
  immunizations: 40,
};

/** LOINC codes of advance-directive documents; they are shown as directives, not as notes. */
export const ADVANCE_DIRECTIVE_DOCUMENT_CODES = ['42348-3', '75320-2', '86533-7', '92664-3', '81334-5'];

const SHORT_VITAL_NAMES = new Map<string, string>([
  ['85354-9', 'Blood pressure'],
  ['55284-4', 'Blood pressure'],
  ['8867-4', 'Heart rate'],
  ['9279-1', 'Respiratory rate'],
  ['8310-5', 'Temperature'],
  ['59408-5', 'SpO2'],
  ['2708-6', 'SpO2'],
  ['29463-7', 'Weight'],
  ['8302-2', 'Height'],
  ['39156-5', 'BMI'],
  ['72514-3', 'Pain score'],
]);

export function summarizeChart(source: ChartResources, asOfDate: string): PatientChart {
  const patient = source.patient as any;
  const name = preferredName(patient.name);
  const labs = seriesOf(source.labs, LIMITS.pointsPerLab);
  const vitals = seriesOf(source.vitals, LIMITS.pointsPerVital);
  return {
    name: humanName(name) ?? `Patient ${patient.id}`,
    sortName: sortableName(name) ?? `Patient ${patient.id}`,
    birthDate: typeof patient.birthDate === 'string' ? patient.birthDate : undefined,
    age: typeof patient.birthDate === 'string' ? ageText(patient.birthDate, asOfDate) : undefined,
    gender: typeof patient.gender === 'string' ? patient.gender : undefined,
    identifiers: textList(
      asArray(patient.identifier).map((id: any) => {
        if (typeof id?.value !== 'string') return undefined;
        const type = codeText(id.type);
        return type ? `${type}: ${id.value}` : id.value;
      }),
    ),
    telecom: textList(asArray(patient.telecom).map(telecomText)),
    address: textList(asArray(patient.address).map(addressText)),
    language: codeText(asArray(patient.communication).find((c: any) => c?.preferred)?.language),
    generalPractitioner:
      textList(asArray(patient.generalPractitioner).map(referenceText)).join('; ') || undefined,
    contacts: asArray(patient.contact).map((contact: any) => ({
      name: humanName(contact?.name) ?? referenceText(contact?.organization) ?? 'Contact',
      relationship: textList(asArray(contact?.relationship).map(codeText)).join(', '),
      telecom: textList(asArray(contact?.telecom).map(telecomText)),
    })),
    careTeam: careTeamOf(source.careTeams, patient.id),
    allergies: allergiesOf(source.allergies),
    problems: problemsOf(source.conditions),
    medications: medicationsOf(source.medications),
    immunizations: source.immunizations
      .filter((i: any) => i.status !== 'entered-in-error' && i.status !== 'not-done')
      .map((i: any) => ({ text: codeText(i.vaccineCode) ?? 'Vaccine', date: eventDate(i) }))
      .sort((a, b) => (b.date ?? '').localeCompare(a.date ?? ''))
      .slice(0, LIMITS.immunizations),
    vitals: vitals.series,
    labs: labs.series,
    notes: notesOf(source.notes),
    referrals: referralsOf(source.serviceRequests, source.tasks),
    advanceDirectives: directivesOf(source.consents, source.notes),
    visits: [],
    omitted: { labs: labs.omitted, vitals: vitals.omitted },
  };
}

/** Whole years, or months under two. */
export function ageText(birthDate: string, onDate: string): string | undefined {
  const birth = /^(\d{4})-(\d{2})-(\d{2})$/.exec(birthDate);
  const on = /^(\d{4})-(\d{2})-(\d{2})/.exec(onDate);
  if (!birth || !on) return undefined;
  const [by, bm, bd] = birth.slice(1).map(Number);
  const [y, m, d] = on.slice(1).map(Number);
  const months = (y - by) * 12 + (m - bm) - (d < bd ? 1 : 0);
  if (months < 0) return undefined;
  // A no-break space keeps "74 y" on one line in narrow columns.
  return months < 24 ? `${months}\u00a0mo` : `${Math.floor(months / 12)}\u00a0y`;
}

function allergiesOf(resources: Resource[]): PatientChart['allergies'] {
  return resources
    .map((r: any) => r)
    .filter(
      (a) =>
        !hasCode(a.verificationStatus, 'entered-in-error') &&
        !hasCode(a.verificationStatus, 'refuted') &&
        !hasCode(a.clinicalStatus, 'inactive') &&
        !hasCode(a.clinicalStatus, 'resolved'),
    )
    .map((a) => ({
      text: codeText(a.code) ?? 'Allergy (substance not recorded)',
      criticality: typeof a.criticality === 'string' ? a.criticality : undefined,
      reactions: textList(
        asArray(a.reaction).flatMap((reaction: any) =>
          asArray(reaction?.manifestation).map((m: any) => {
            const text = codeText(m);
            return text && reaction.severity ? `${text} (${reaction.severity})` : text;
          }),
        ),
      ),
      status: codeText(a.verificationStatus) ?? '',
    }));
}

function problemsOf(resources: Resource[]): PatientChart['problems'] {
  const seen = new Set<string>();
  return resources
    .map((r: any) => r)
    .filter(
      (c) =>
        (c.clinicalStatus === undefined ||
          ['active', 'recurrence', 'relapse'].some((code) => hasCode(c.clinicalStatus, code))) &&
        !hasCode(c.verificationStatus, 'entered-in-error') &&
        !hasCode(c.verificationStatus, 'refuted'),
    )
    .sort((a, b) => problemRank(a) - problemRank(b) || (onsetOf(b) ?? '').localeCompare(onsetOf(a) ?? ''))
    .map((c) => ({
      text: codeText(c.code) ?? 'Problem',
      onset: onsetOf(c),
      status: codeText(c.clinicalStatus) ?? '',
    }))
    .filter((p) => !seen.has(p.text) && seen.add(p.text));
}

const problemRank = (condition: any) => (conceptsHaveCode(condition.category, 'problem-list-item') ? 0 : 1);
const onsetOf = (c: any): string | undefined =>
  c.onsetDateTime ?? c.onsetPeriod?.start ?? c.onsetString ?? c.recordedDate;

function medicationsOf(resources: Resource[]): PatientChart['medications'] {
  return resources
    .map((r: any) => r)
    .filter((m) =>
      m.resourceType === 'MedicationRequest'
        ? m.status === 'active' || m.status === 'on-hold'
        : m.status === 'active' || m.status === 'intended',
    )
    .map((m) => ({
      text: codeText(m.medicationCodeableConcept) ?? referenceText(m.medicationReference) ?? 'Medication',
      dosage: asArray(m.dosageInstruction ?? m.dosage)[0]?.text,
      since: m.authoredOn ?? m.effectiveDateTime ?? m.effectivePeriod?.start ?? m.dateAsserted,
      prescriber: referenceText(m.requester ?? m.informationSource),
      status: m.status,
    }))
    .sort((a, b) => a.text.localeCompare(b.text));
}

/** Groups results by test, newest `limit` points per test, oldest first for plotting. */
function seriesOf(newestFirst: Resource[], limit: number): { series: Series[]; omitted: number } {
  const byCode = new Map<string, Series>();
  let omitted = 0;
  for (const observation of newestFirst as any[]) {
    if (observation.status === 'entered-in-error' || observation.status === 'cancelled') continue;
    const key = codeKey(observation.code) ?? 'unknown';
    const point = pointOf(observation);
    if (!point) continue;
    let series = byCode.get(key);
    if (!series) {
      const loinc = asArray(observation.code?.coding).find((c: any) => SHORT_VITAL_NAMES.has(c?.code))?.code;
      const range = asArray(observation.referenceRange)[0];
      series = {
        name: (loinc && SHORT_VITAL_NAMES.get(loinc)) || codeText(observation.code) || 'Result',
        unit: point.unit,
        lines: point.lines,
        low: typeof range?.low?.value === 'number' ? range.low.value : undefined,
        high: typeof range?.high?.value === 'number' ? range.high.value : undefined,
        points: [],
      };
      byCode.set(key, series);
    }
    if (series.points.length >= limit) {
      omitted++;
      continue;
    }
    series.points.push({ date: point.date, text: point.text, values: point.values, flag: point.flag });
  }
  const series = [...byCode.values()];
  for (const s of series) s.points.reverse();
  series.sort((a, b) => a.name.localeCompare(b.name));
  return { series, omitted };
}

function pointOf(observation: any) {
  const date = eventDate(observation) ?? '';
  const flag = codeText(asArray(observation.interpretation)[0]);
  const value = observationValue(observation);
  if (value)
    return { date, text: value.text, values: value.numbers, flag, unit: observation.valueQuantity?.unit };
  const parts = asArray(observation.component)
    .map((c: any) => ({
      name: codeText(c.code) ?? '',
      value: observationValue(c),
      unit: c.valueQuantity?.unit,
    }))
    .filter((c) => c.value);
  if (parts.length === 0) return undefined;
  const units = new Set(parts.map((p) => p.unit));
  const text =
    units.size === 1 && parts[0].unit
      ? `${parts.map((p) => p.value!.numbers[0] ?? p.value!.text).join('/')} ${parts[0].unit}`
      : parts.map((p) => `${p.name} ${p.value!.text}`).join('; ');
  return {
    date,
    text,
    values: parts.map((p) => p.value!.numbers[0]),
    flag,
    unit: units.size === 1 ? parts[0].unit : undefined,
    lines: parts.map((p) => p.name),
  };
}

function notesOf(newestFirst: Resource[]): PatientChart['notes'] {
  return newestFirst
    .map((r: any) => r)
    .filter((d) => d.status !== 'entered-in-error' && !isAdvanceDirectiveDocument(d))
    .slice(0, LIMITS.notes)
    .map((d) => {
      const attachment = asArray(d.content)[0]?.attachment ?? {};
      return {
        date: d.date ?? attachment.creation ?? d.context?.period?.start,
        title: attachment.title ?? d.description ?? codeText(d.type) ?? 'Note',
        author: textList(asArray(d.author).map(referenceText)).join(', ') || undefined,
        text: attachmentText(attachment),
      };
    });
}

function attachmentText(attachment: any): string {
  const type = typeof attachment.contentType === 'string' ? attachment.contentType : '';
  if (typeof attachment.data === 'string' && (type === '' || type.startsWith('text/'))) {
    const text = Buffer.from(attachment.data, 'base64').toString('utf8');
    return text.length > LIMITS.noteCharacters
      ? `${text.slice(0, LIMITS.noteCharacters)}\n[… the rest of this note is in the full record]`
      : text;
  }
  if (attachment.url)
    return `(The note's content is stored separately: ${type || 'attachment'} not included.)`;
  return type ? `(A ${type} attachment, not included in the downtime copy.)` : '(No text recorded.)';
}

const isAdvanceDirectiveDocument = (d: any) =>
  ADVANCE_DIRECTIVE_DOCUMENT_CODES.some((code) => hasCode(d.type, code));

function referralsOf(serviceRequests: Resource[], tasks: Resource[]): PatientChart['referrals'] {
  return serviceRequests
    .map((r: any) => r)
    .filter((s) => s.status === 'active' || s.status === 'on-hold' || s.status === 'draft')
    .map((s) => {
      const task: any = tasks.find((t: any) => t.focus?.reference === `ServiceRequest/${s.id}`);
      const progress = task ? (codeText(task.businessStatus) ?? `task ${task.status}`) : undefined;
      return {
        text: codeText(s.code) ?? codeText(asArray(s.category)[0]) ?? 'Request',
        status: s.status,
        date: s.authoredOn ?? s.occurrenceDateTime ?? s.occurrencePeriod?.start,
        to: textList([...asArray(s.performer).map(referenceText), codeText(s.performerType)])[0],
        progress,
      };
    })
    .sort((a, b) => (b.date ?? '').localeCompare(a.date ?? ''));
}

function directivesOf(consents: Resource[], notes: Resource[]): PatientChart['advanceDirectives'] {
  const fromConsents = consents
    .map((r: any) => r)
    .filter((c) => hasCode(c.scope, 'adr') && c.status !== 'entered-in-error' && c.status !== 'inactive')
    .map((c) => {
      const what = textList(asArray(c.category).map(codeText)).join(', ');
      const provision = codeText(asArray(c.provision?.code)[0]);
      const verb = c.provision?.type === 'deny' ? 'refuses' : c.provision?.type === 'permit' ? 'accepts' : '';
      return {
        text: provision && verb ? `${what}: ${verb} ${provision.toLowerCase()}` : what || 'Advance directive',
        date: c.dateTime,
        status: c.status,
      };
    });
  const fromDocuments = notes
    .map((r: any) => r)
    .filter((d) => isAdvanceDirectiveDocument(d) && d.status === 'current')
    .map((d) => ({
      text: `Document: ${asArray(d.content)[0]?.attachment?.title ?? d.description ?? codeText(d.type) ?? 'advance directive'}`,
      date: d.date,
      status: d.docStatus ?? d.status,
    }));
  return [...fromConsents, ...fromDocuments];
}

function careTeamOf(teams: Resource[], patientId: string): PatientChart['careTeam'] {
  const members = new Map<string, string>();
  for (const team of teams as any[]) {
    if (team.status && team.status !== 'active') continue;
    for (const participant of asArray(team.participant)) {
      if (participant?.member?.reference === `Patient/${patientId}`) continue;
      const name = referenceText(participant?.member);
      if (name && !members.has(name)) members.set(name, codeText(asArray(participant.role)[0]) ?? '');
    }
  }
  return [...members].map(([name, role]) => ({ name, role }));
}
