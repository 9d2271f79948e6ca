/**
 * The appointment book: the last 14 days (fulfilled, no-shows, cancellations) and the next 14
 * days from `today` (booked, and on `today` itself arrived or fulfilled up to the snapshot time),
 * with a Slot for every bookable interval from today on. At least 40 appointments are booked on
 * every day, weekends included, and no clinician is ever double-booked: each appointment takes
 * one or two free consecutive slots of its clinician's day.
 */
import type { Resource } from '../fhir/types.ts';
import { addDays, ageOn, dayNumber, isWeekend } from './calendar.ts';
import { APPOINTMENT_TYPES, CHRONIC, FAMILY_PRACTICE, type VisitKind } from './clinicalCatalog.ts';
import { at, type DemoContext } from './context.ts';
import { concept, ref, SYSTEMS } from './elements.ts';
import { chartMeta, patientRef, type PatientProfile } from './patients.ts';
import { clinicianRef, type Clinician, type Practice } from './practice.ts';
import {
  pickReason,
  slotStarts,
  WEEKDAY_SLOT_MINUTES,
  WEEKEND_SLOT_MINUTES,
  type Reason,
  type Visit,
} from './visits.ts';

/** Days of history in the appointment book before `today`, and days ahead including `today`. */
export const PAST_DAYS = 14;
export const FUTURE_DAYS = 14;
/** The floor the brief sets: every day of the coming two weeks carries at least this many bookings. */
export const MIN_APPOINTMENTS_PER_DAY = 40;

type AppointmentStatus = 'booked' | 'arrived' | 'fulfilled' | 'noshow' | 'cancelled';

interface Booking {
  patient: PatientProfile;
  clinician: Clinician;
  date: string;
  /** Indexes into the clinician's slots for the day. */
  slots: number[];
  start: number;
  minutes: number;
  reason: Reason;
  status: AppointmentStatus;
  createdDaysBefore: number;
  cancelReason?: { code: string; display: string };
  id?: string;
}

export interface ScheduleResult {
  /** Slot and Appointment resources, in chronological order. */
  resources: Resource[];
  /** Fulfilled visits per patient id, for the chart history. */
  fulfilled: Map<string, Visit[]>;
}

/** The clinicians working on a date: everyone on weekdays, a rota of three at weekends. */
export function onDuty(practice: Practice, date: string): Clinician[] {
  if (!isWeekend(date)) return practice.clinicians;
  const n = practice.clinicians.length;
  // Rota weeks start on Saturday, so a weekend's Saturday and Sunday share the same three.
  const week = Math.floor((dayNumber(date) + 5) / 7);
  return [0, 1, 2].map((k) => practice.clinicians[(week + k) % n]);
}

const CANCEL_REASONS = [
  { code: 'pat', display: 'Patient' },
  { code: 'pat-crs', display: 'Patient: Canceled via automated reminder system' },
  { code: 'pat-cpp', display: 'Patient: Canceled via Patient Portal' },
  { code: 'pat-fb', display: 'Patient: Feeling Better' },
  { code: 'pat-lt', display: 'Patient: Lack of Transportation' },
  { code: 'prov-pers', display: 'Provider: Personal' },
  { code: 'oth-weath', display: 'Other: Weather' },
];

function describe(reason: Reason, patient: PatientProfile, date: string): string {
  switch (reason.kind) {
    case 'wellness':
      return 'Annual physical';
    case 'wellChild':
      return `Well-child visit (${ageLabel(patient.birthDate, date)})`;
    case 'followUp':
      return `Follow-up: ${reason.problems.map((k) => CHRONIC[k].text.toLowerCase()).join(', ')}`;
    case 'acute':
      return `Same-day: ${reason.acute?.booked.toLowerCase()}`;
    default:
      return 'Nurse visit';
  }
}

export function ageLabel(birthDate: string, date: string): string {
  const years = ageOn(birthDate, date);
  if (years >= 2) return `${years} years`;
  const months = Math.round((dayNumber(date) - dayNumber(birthDate)) / 30.44);
  return `${months} months`;
}

function reasonCodes(reason: Reason) {
  if (reason.kind === 'acute' && reason.acute) {
    const c = reason.acute.complaint;
    return [concept(SYSTEMS.snomed, c.snomed, c.display, reason.acute.booked)];
  }
  if (reason.kind === 'followUp') {
    return reason.problems.map((k) =>
      concept(SYSTEMS.snomed, CHRONIC[k].snomed, CHRONIC[k].display, CHRONIC[k].text),
    );
  }
  return [{ text: reason.kind === 'wellChild' ? 'Well-child check' : 'Annual physical examination' }];
}

/** Finds free runs of `length` consecutive slots (consecutive in time, so no run spans lunch). */
function freeRuns(taken: boolean[], starts: number[], step: number, length: number): number[] {
  const runs: number[] = [];
  for (let i = 0; i + length <= starts.length; i++) {
    let ok = true;
    for (let k = 0; k < length && ok; k++) {
      if (taken[i + k] || (k > 0 && starts[i + k] !== starts[i + k - 1] + step)) ok = false;
    }
    if (ok) runs.push(i);
  }
  return runs;
}

export function buildSchedule(
  ctx: DemoContext,
  practice: Practice,
  profiles: PatientProfile[],
): ScheduleResult {
  const rng = ctx.rng.fork('schedule');
  const bookings: Booking[] = [];
  const load = new Map<string, number>();
  const takenByDay = new Map<string, Map<number, boolean[]>>();

  for (let offset = -PAST_DAYS; offset < FUTURE_DAYS; offset++) {
    const date = addDays(ctx.today, offset);
    const weekend = isWeekend(date);
    const starts = slotStarts(weekend);
    const step = weekend ? WEEKEND_SLOT_MINUTES : WEEKDAY_SLOT_MINUTES;
    const clinicians = onDuty(practice, date);
    const taken = new Map(clinicians.map((c) => [c.number, starts.map(() => false)]));
    takenByDay.set(date, taken);
    const seenToday = new Set<string>();
    const past = offset < 0;
    // Forward days are busier than the floor; the past weeks only need to look lived-in.
    const wanted = past
      ? weekend
        ? rng.int(14, 20)
        : rng.int(26, 36)
      : weekend
        ? rng.int(42, 50)
        : rng.int(48, 62);
    const eligible = profiles.filter((p) => p.firstVisit <= date);
    // A small demo panel cannot fill 40 visits a day with one visit per patient per day.
    const target = Math.min(wanted, Math.floor(eligible.length * 0.8));

    const book = (status: AppointmentStatus): Booking | undefined => {
      // Tournament pick: the least-booked of a few random patients, so visits spread over the panel.
      let patient: PatientProfile | undefined;
      for (let k = 0; k < 6; k++) {
        const candidate = rng.pick(eligible);
        if (seenToday.has(candidate.id)) continue;
        if (!patient || (load.get(candidate.id) ?? 0) < (load.get(patient.id) ?? 0)) patient = candidate;
      }
      if (!patient) return undefined;
      const reason = pickReason(rng, patient, date, weekend);
      const length = !weekend && (reason.kind === 'wellness' || reason.kind === 'wellChild') ? 2 : 1;
      const preferred = clinicians.includes(patient.gp) && rng.chance(0.7) ? [patient.gp] : [];
      const order = [...preferred, ...rng.shuffle(clinicians)];
      for (const clinician of order) {
        const runs = freeRuns(taken.get(clinician.number) ?? [], starts, step, length);
        if (!runs.length) continue;
        const first = rng.pick(runs);
        const slots = Array.from({ length }, (_, k) => first + k);
        return {
          patient,
          clinician,
          date,
          slots,
          start: starts[first],
          minutes: length * step,
          reason,
          status,
          createdDaysBefore: reason.kind === 'acute' ? rng.int(0, 1) : rng.int(3, 60),
        };
      }
      return undefined;
    };

    let booked = 0;
    for (let attempts = 0; booked < target && attempts < target * 20; attempts++) {
      const b = book('booked');
      if (!b) continue;
      for (const s of b.slots) (taken.get(b.clinician.number) ?? [])[s] = true;
      seenToday.add(b.patient.id);
      load.set(b.patient.id, (load.get(b.patient.id) ?? 0) + 1);
      bookings.push(b);
      booked++;
    }
    if (!past && booked < MIN_APPOINTMENTS_PER_DAY && eligible.length >= 100) {
      throw new Error(
        `demo schedule: only ${booked} appointments fit on ${date}; the practice needs more clinicians or patients`,
      );
    }

    // A few cancellations whose slots were left open (or rebooked): they occupy no slot.
    const cancellations = rng.int(1, 3);
    for (let i = 0; i < cancellations; i++) {
      const b = book('cancelled');
      if (!b) continue;
      b.cancelReason = rng.pick(CANCEL_REASONS);
      b.createdDaysBefore = Math.max(b.createdDaysBefore, 2);
      bookings.push(b);
    }
  }

  // Statuses relative to the snapshot moment: past days are done, today is in progress.
  for (const b of bookings) {
    if (b.status === 'cancelled') continue;
    const end = b.start + b.minutes;
    const isPast = b.date < ctx.today || (b.date === ctx.today && end <= ctx.asOfMinutes);
    if (isPast) b.status = rng.chance(0.06) ? 'noshow' : 'fulfilled';
    else if (b.date === ctx.today && b.start <= ctx.asOfMinutes) b.status = 'arrived';
  }

  bookings.sort((a, b) =>
    a.date !== b.date
      ? a.date < b.date
        ? -1
        : 1
      : a.start - b.start || a.clinician.number - b.clinician.number || (a.status === 'cancelled' ? 1 : -1),
  );
  bookings.forEach((b, i) => (b.id = `demo-appt-${String(i + 1).padStart(5, '0')}`));

  const resources: Resource[] = [
    ...slotResources(ctx, practice, takenByDay),
    ...bookings.map((b) => appointment(ctx, b)),
  ];
  const fulfilled = new Map<string, Visit[]>();
  for (const b of bookings) {
    if (b.status !== 'fulfilled') continue;
    const list = fulfilled.get(b.patient.id) ?? [];
    list.push({
      date: b.date,
      start: b.start,
      minutes: b.minutes,
      kind: b.reason.kind as VisitKind,
      provider: b.clinician,
      locationId: b.clinician.site.id,
      problems: b.reason.problems,
      acute: b.reason.acute,
      appointmentId: b.id,
    });
    fulfilled.set(b.patient.id, list);
  }
  return { resources, fulfilled };
}

const slotId = (c: Clinician, date: string, index: number) =>
  `demo-slot-${String(c.number).padStart(2, '0')}-${date.replaceAll('-', '')}-${String(index).padStart(2, '0')}`;

function slotResources(
  ctx: DemoContext,
  practice: Practice,
  takenByDay: Map<string, Map<number, boolean[]>>,
): Resource[] {
  const out: Resource[] = [];
  for (const [date, taken] of takenByDay) {
    if (date < ctx.today) continue;
    const weekend = isWeekend(date);
    const starts = slotStarts(weekend);
    const step = weekend ? WEEKEND_SLOT_MINUTES : WEEKDAY_SLOT_MINUTES;
    for (const c of practice.clinicians) {
      const busy = taken.get(c.number);
      if (!busy) continue;
      starts.forEach((start, i) => {
        out.push({
          resourceType: 'Slot',
          id: slotId(c, date, i),
          serviceCategory: [concept(SYSTEMS.serviceCategory, '17', 'General Practice')],
          serviceType: [concept(SYSTEMS.serviceType, '124', 'General Practice')],
          specialty: [concept(SYSTEMS.snomed, FAMILY_PRACTICE.snomed, FAMILY_PRACTICE.display)],
          schedule: ref('Schedule', c.scheduleId),
          status: busy[i] ? 'busy' : 'free',
          start: at(ctx, date, start),
          end: at(ctx, date, start + step),
        });
      });
    }
  }
  return out;
}

function appointment(ctx: DemoContext, b: Booking): Resource {
  const type = APPOINTMENT_TYPES[b.reason.kind];
  const cancelled = b.status === 'cancelled';
  // Bookings for the coming days were made by now at the latest.
  const created = [addDays(b.date, -b.createdDaysBefore), ctx.today].sort()[0];
  let createdAt =
    b.createdDaysBefore === 0 ? Math.max(7 * 60 + 30, b.start - 90) : 9 * 60 + (dayNumber(created) % 8) * 45;
  // Nothing is created after the snapshot moment.
  if (created === ctx.today) createdAt = Math.max(0, Math.min(createdAt, ctx.asOfMinutes - 5));
  const fasting = b.reason.kind === 'wellness';
  return {
    resourceType: 'Appointment',
    id: b.id,
    ...chartMeta(b.patient),
    status: b.status,
    ...(b.cancelReason
      ? { cancelationReason: concept(SYSTEMS.cancelReason, b.cancelReason.code, b.cancelReason.display) }
      : {}),
    serviceCategory: [concept(SYSTEMS.serviceCategory, '17', 'General Practice')],
    serviceType: [concept(SYSTEMS.serviceType, '124', 'General Practice')],
    specialty: [concept(SYSTEMS.snomed, FAMILY_PRACTICE.snomed, FAMILY_PRACTICE.display)],
    appointmentType: concept(SYSTEMS.v2AppointmentType, type.code, type.display),
    reasonCode: reasonCodes(b.reason),
    description: describe(b.reason, b.patient, b.date),
    start: at(ctx, b.date, b.start),
    end: at(ctx, b.date, b.start + b.minutes),
    minutesDuration: b.minutes,
    ...(!cancelled && b.date >= ctx.today
      ? { slot: b.slots.map((i) => ref('Slot', slotId(b.clinician, b.date, i))) }
      : {}),
    created: at(ctx, created, Math.min(createdAt, 16 * 60)),
    ...(cancelled ? { comment: 'Slot released to the waiting list.' } : {}),
    patientInstruction: fasting
      ? 'Please arrive 15 minutes early. Fasting labs: nothing to eat after midnight; water and medicines are fine.'
      : 'Please arrive 15 minutes early and bring your medication list and insurance card.',
    participant: [
      {
        actor: patientRef(b.patient),
        required: 'required',
        status: cancelled ? 'declined' : 'accepted',
      },
      {
        type: [concept(SYSTEMS.v3ParticipationType, 'PPRF', 'primary performer')],
        actor: clinicianRef(b.clinician),
        required: 'required',
        status: 'accepted',
      },
      {
        actor: ref('Location', b.clinician.site.id, b.clinician.site.name),
        required: 'required',
        status: 'accepted',
      },
    ],
  };
}
