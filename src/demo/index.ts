/**
 * A deterministic demo practice as FHIR R4 resources: a US family practice with its clinicians,
 * a panel of patients with years of charted history, and a full appointment book around `today`.
 * Every resource carries a stable client-assigned id, so loading the output with PUT is idempotent,
 * and the list is ordered so that every reference points to a resource that comes before it.
 */
import type { Resource } from '../fhir/types.ts';
import { assertTimeZone, isValidDate, parseClockTime } from './calendar.ts';
import type { DemoContext } from './context.ts';
import { buildChart } from './history.ts';
import { regionFor } from './names.ts';
import { buildProfiles, patientResource } from './patients.ts';
import { buildPractice } from './practice.ts';
import { Random } from './random.ts';
import { buildSchedule } from './schedule.ts';

export interface DemoOptions {
  /** `YYYY-MM-DD`: the practice's local date the demo is built around. */
  today: string;
  /** IANA zone of the practice, e.g. `America/New_York`; all times carry its offset on their date. */
  timeZone: string;
  /** Size of the patient panel (default 300). With fewer than 100, days hold fewer than 40 visits. */
  patients?: number;
  /** Different seeds give different practices; the same options always give the same output. */
  seed?: number;
  /**
   * Local time (`HH:MM`) on `today` the snapshot is taken at (default `10:30`): earlier appointments
   * today are fulfilled or no-shows, the ones in progress are `arrived`, later ones are `booked`.
   */
  asOfTime?: string;
}

/** Resource types in an order where every reference points backwards. */
export const RESOURCE_ORDER = [
  'Organization',
  'Location',
  'Practitioner',
  'PractitionerRole',
  'Schedule',
  'Patient',
  'Slot',
  'Appointment',
  'Encounter',
  'Condition',
  'AllergyIntolerance',
  'Observation',
  'DiagnosticReport',
  'MedicationRequest',
  'Immunization',
  'ServiceRequest',
  'DocumentReference',
  'Task',
  'CareTeam',
  'Consent',
] as const;

export function generateDemoPractice(opts: DemoOptions): Resource[] {
  if (!isValidDate(opts.today))
    throw new Error(`demo: today must be a date like 2026-03-02, got "${opts.today}"`);
  try {
    assertTimeZone(opts.timeZone);
  } catch {
    throw new Error(`demo: unknown time zone "${opts.timeZone}"; use an IANA name such as America/New_York`);
  }
  const patients = opts.patients ?? 300;
  if (!Number.isInteger(patients) || patients < 1 || patients > 100_000) {
    throw new Error(`demo: patients must be a whole number from 1 to 100000, got ${opts.patients}`);
  }
  const asOfMinutes = parseClockTime(opts.asOfTime ?? '10:30');
  if (asOfMinutes === undefined)
    throw new Error(`demo: asOfTime must look like 09:30, got "${opts.asOfTime}"`);

  const ctx: DemoContext = {
    today: opts.today,
    timeZone: opts.timeZone,
    asOfMinutes,
    rng: new Random(`chartvault-demo/${opts.seed ?? 1}`),
    region: regionFor(opts.timeZone),
  };

  const practice = buildPractice(ctx);
  const profiles = buildProfiles(ctx, practice, patients);
  const schedule = buildSchedule(ctx, practice, profiles);

  const all: Resource[] = [...practice.resources];
  for (const p of profiles) all.push(patientResource(ctx, practice, p));
  all.push(...schedule.resources);
  for (const p of profiles) all.push(...buildChart(ctx, practice, p, schedule.fulfilled.get(p.id) ?? []));

  // Group by type in reference order; within a type, generation order (chronological per chart).
  const byType = new Map<string, Resource[]>(RESOURCE_ORDER.map((t) => [t, []]));
  for (const r of all) {
    const list = byType.get(r.resourceType);
    if (!list) throw new Error(`demo: ${r.resourceType} is missing from RESOURCE_ORDER`);
    list.push(r);
  }
  return [...byType.values()].flat();
}
