/**
 * Reads what goes into a downtime file from the store: the coming clinic days' appointments, grouped
 * by clinician, and a chart for every scheduled patient (or, in census mode, every active patient).
 */
import { parseSearch } from '../fhir/searchQuery.ts';
import type { Resource } from '../fhir/types.ts';
import type { StoreOperations } from '../store/index.ts';
import { addDays, localDateTimeOf } from './clinicCalendar.ts';
import { summarizeChart, ADVANCE_DIRECTIVE_DOCUMENT_CODES, type ChartResources } from './chartSummary.ts';
import type {
  ClinicianDay,
  DowntimeContent,
  PatientChart,
  ScheduleDay,
  ScheduledVisit,
} from './contentModel.ts';
import { asArray, codeText, conceptsHaveCode, isRestricted, referenceText } from './fhirText.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- reads arbitrary FHIR JSON */

export interface ContentOptions {
  /** Today in the practice's time zone (YYYY-MM-DD). */
  today: string;
  timeZone: string;
  /** Clinic days to include, today first: today and the next days that have appointments. */
  days: number;
  census: boolean;
  includeRestricted: boolean;
  exportedBy: string;
  staleAfterHours: number;
  asOf: string;
}

/** How far ahead to look for the next clinic days (a practice closed for two weeks still gets its next days). */
const LOOK_AHEAD_DAYS = 31;
const PAGE = 1000;
/** A chart's newest 20,000 results are read; older ones are not needed in a downtime copy. */
const OBSERVATION_PAGES = 20;
/** Appointments shown: all but those recorded in error (proposed and waitlisted ones show their status). */
const INACTIVE_APPOINTMENT = new Set(['entered-in-error']);
const RESTRICTED_LABEL = 'Restricted chart: see the paper record';

export async function readDowntimeContent(
  store: StoreOperations,
  options: ContentOptions,
): Promise<{ content: DowntimeContent; patientIds: string[] }> {
  const appointments = await searchAll(store, 'Appointment', [
    ['date', `ge${addDays(options.today, -1)}`],
    ['date', `le${addDays(options.today, LOOK_AHEAD_DAYS)}`],
  ]);
  const visitsByDay = groupByLocalDay(appointments, options);
  const dates = pickClinicDays(visitsByDay, options.today, options.days);

  const patients: PatientChart[] = [];
  const patientIds: string[] = [];
  const patientIndex = new Map<string, number | 'restricted' | 'unknown'>();
  const restrictedScheduled = new Set<string>();
  const organizations: string[] = [];
  const chartFor = async (patientId: string) => {
    const known = patientIndex.get(patientId);
    if (known !== undefined) return known;
    const chart = await readChart(store, patientId, options, organizations);
    let entry: number | 'restricted' | 'unknown';
    if (chart === 'restricted') entry = 'restricted';
    else if (chart === undefined) entry = 'unknown';
    else {
      entry = patients.push(chart) - 1;
      patientIds.push(patientId);
    }
    patientIndex.set(patientId, entry);
    return entry;
  };

  const days: ScheduleDay[] = [];
  for (const date of dates) {
    const byClinician = new Map<string, ClinicianDay>();
    for (const { appointment, time } of visitsByDay.get(date) ?? []) {
      const clinician = clinicianOf(appointment);
      let day = byClinician.get(clinician);
      if (!day) byClinician.set(clinician, (day = { name: clinician, appointments: [] }));
      const visit: ScheduledVisit = {
        localTime: time,
        minutes: visitMinutes(appointment),
        status: appointment.status ?? 'unknown',
        reason: appointmentReason(appointment),
      };
      const patientRef = asArray(appointment.participant)
        .map((p: any) => p?.actor)
        .find((actor: any) => /(^|\/)Patient\//.test(actor?.reference ?? ''));
      const patientId = patientIdOf(patientRef);
      if (!options.includeRestricted && isRestricted(appointment)) {
        visit.reason = '';
        visit.patientLabel = RESTRICTED_LABEL;
        if (patientId) restrictedScheduled.add(patientId);
        day.appointments.push(visit);
        continue;
      }
      if (patientId) {
        const entry = await chartFor(patientId);
        if (typeof entry === 'number') {
          visit.patient = entry;
          patients[entry].visits.push(`${date} ${time}, ${clinician}`);
        } else if (entry === 'restricted') {
          visit.patientLabel = RESTRICTED_LABEL;
          visit.reason = ''; // a visit's reason is part of the restricted chart
          restrictedScheduled.add(patientId);
        } else visit.patientLabel = `${referenceText(patientRef) ?? 'Patient'} (no chart in the record)`;
      } else if (patientRef) visit.patientLabel = `${referenceText(patientRef)} (no chart in the record)`;
      else visit.patientLabel = 'No patient on this appointment';
      day.appointments.push(visit);
    }
    const clinicians = [...byClinician.values()].sort((a, b) => a.name.localeCompare(b.name));
    for (const c of clinicians) c.appointments.sort((a, b) => a.localTime.localeCompare(b.localTime));
    days.push({ localDate: date, clinicians });
  }

  if (options.census) {
    for (const patient of await searchAll(store, 'Patient', [])) {
      const { active, deceasedBoolean, deceasedDateTime } = patient as any;
      if (active !== false && deceasedBoolean !== true && !deceasedDateTime) await chartFor(patient.id!);
    }
  }

  const content: DowntimeContent = {
    version: 1,
    practiceName: mostCommon(organizations),
    timeZone: options.timeZone,
    asOf: options.asOf,
    exportedBy: options.exportedBy,
    staleAfterHours: options.staleAfterHours,
    days,
    patients,
    census: options.census,
    restrictedLeftOut: restrictedScheduled.size,
    censusLeftOut: 0,
  };
  return { content, patientIds };
}

interface DayVisit {
  appointment: any;
  time: string;
}

function groupByLocalDay(appointments: Resource[], options: ContentOptions): Map<string, DayVisit[]> {
  const byDay = new Map<string, DayVisit[]>();
  for (const appointment of appointments as any[]) {
    if (INACTIVE_APPOINTMENT.has(appointment.status) || typeof appointment.start !== 'string') continue;
    const local = localDateTimeOf(appointment.start, options.timeZone);
    if (!local || local.date < options.today) continue;
    const list = byDay.get(local.date) ?? [];
    list.push({ appointment, time: local.time ?? '' });
    byDay.set(local.date, list);
  }
  return byDay;
}

/** Today, whatever it holds, then the next days with at least one appointment that is not cancelled. */
export function pickClinicDays(byDay: Map<string, DayVisit[]>, today: string, days: number): string[] {
  const picked = [today];
  const later = [...byDay.keys()].filter((d) => d > today).sort();
  for (const date of later) {
    if (picked.length >= days) break;
    if (
      byDay.get(date)!.some((v) => v.appointment.status !== 'cancelled' && v.appointment.status !== 'noshow')
    )
      picked.push(date);
  }
  return picked;
}

/**
 * The id of a local Patient reference (`Patient/id`, possibly versioned). An absolute URL may name a
 * patient on another server, so it is shown by its display text rather than matched to a local chart.
 */
function patientIdOf(actor: any): string | undefined {
  if (typeof actor?.reference !== 'string') return undefined;
  return /^Patient\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(actor.reference)?.[1];
}

function clinicianOf(appointment: any): string {
  const actor = asArray(appointment.participant)
    .map((p: any) => p?.actor)
    .find((a: any) => /^(Practitioner|PractitionerRole)\//.test(a?.reference ?? ''));
  return referenceText(actor) ?? 'No clinician assigned';
}

function visitMinutes(appointment: any): number | undefined {
  if (typeof appointment.minutesDuration === 'number') return appointment.minutesDuration;
  const start = Date.parse(appointment.start);
  const end = Date.parse(appointment.end ?? '');
  return Number.isFinite(start) && Number.isFinite(end) && end > start
    ? Math.round((end - start) / 60000)
    : undefined;
}

function appointmentReason(appointment: any): string {
  if (typeof appointment.description === 'string' && appointment.description) return appointment.description;
  const reasons = asArray(appointment.reasonCode).map(codeText).filter(Boolean);
  if (reasons.length) return reasons.join(', ');
  return codeText(appointment.appointmentType) ?? codeText(asArray(appointment.serviceType)[0]) ?? '';
}

async function readChart(
  store: StoreOperations,
  patientId: string,
  options: ContentOptions,
  organizations: string[],
): Promise<PatientChart | 'restricted' | undefined> {
  let patient: Resource;
  try {
    patient = await store.read('Patient', patientId);
  } catch {
    return undefined; // unknown or deleted: the schedule still shows the appointment
  }
  const organization = (patient as any).managingOrganization?.display;
  if (typeof organization === 'string') organizations.push(organization);
  if (!options.includeRestricted && isRestricted(patient)) return 'restricted';
  const subject = `Patient/${patientId}`;
  // The patient's resources of a type; with `_count` given, only that many (the first page).
  const of = (type: string, extra: [string, string][] = []) =>
    searchAll(
      store,
      type,
      [['patient', subject], ...extra],
      extra.some(([k]) => k === '_count') ? 1 : Infinity,
    );
  const conditions = await of('Condition');
  const medicationRequests = await of('MedicationRequest', [['status', 'active,on-hold']]);
  const medicationStatements = await of('MedicationStatement', [['status', 'active,intended']]);
  const allergies = await of('AllergyIntolerance');
  const immunizations = await of('Immunization');
  // One search for all of a patient's results, newest first, split by category here (filtering by
  // category in SQL costs more than it saves at a chart's size). Every test keeps its own newest
  // results, so a frequent vital sign cannot crowd out a rare lab test.
  const observations = await searchAll(
    store,
    'Observation',
    [
      ['patient', subject],
      ['_sort', '-date'],
    ],
    OBSERVATION_PAGES,
  );
  const inCategory = (code: string) => observations.filter((o: any) => conceptsHaveCode(o.category, code));
  const vitals = inCategory('vital-signs');
  const labs = inCategory('laboratory');
  const recentDocuments = await of('DocumentReference', [
    ['_sort', '-date'],
    ['_count', '20'],
  ]);
  const directiveDocuments = await of('DocumentReference', [
    ['type', ADVANCE_DIRECTIVE_DOCUMENT_CODES.map((c) => `http://loinc.org|${c}`).join(',')],
  ]);
  const notes = [
    ...recentDocuments,
    ...directiveDocuments.filter((d) => !recentDocuments.some((r) => r.id === d.id)),
  ];
  const source: ChartResources = {
    patient,
    conditions,
    medications: [...medicationRequests, ...medicationStatements],
    allergies,
    immunizations,
    vitals,
    labs,
    notes,
    serviceRequests: await of('ServiceRequest', [['status', 'active,on-hold,draft']]),
    tasks: await of('Task'),
    careTeams: await of('CareTeam'),
    consents: await of('Consent'),
  };
  if (!options.includeRestricted) {
    for (const key of Object.keys(source) as (keyof ChartResources)[]) {
      if (key !== 'patient')
        (source[key] as Resource[]) = (source[key] as Resource[]).filter((r) => !isRestricted(r));
    }
  }
  return summarizeChart(source, options.today);
}

/** Every match of a search, page by page (or only the first `pages` pages). */
async function searchAll(
  store: StoreOperations,
  type: string,
  query: [string, string][],
  pages = Infinity,
): Promise<Resource[]> {
  const { request } = parseSearch(
    [type],
    query.some(([k]) => k === '_count') ? query : [...query, ['_count', String(PAGE)]],
  );
  request.total = 'none';
  const found: Resource[] = [];
  for (let page = 0; page < pages; page++) {
    const { resources } = await store.search({ ...request, offset: page * request.count });
    found.push(...resources);
    if (resources.length < request.count) break;
  }
  return found;
}

/** The practice's name: the organisation managing most of the file's patients. */
function mostCommon(values: string[]): string | undefined {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0];
}
