/**
 * When each patient comes in and why. The last two weeks come from the appointment book
 * (schedule.ts); the years before are planned here: well visits on the periodicity schedule,
 * chronic follow-ups at the problem's interval, a few same-day illnesses, and nurse visits for
 * flu shots. history.ts then walks these visits in order and writes what happened at each.
 */
import { addDays, addMonths, ageOn, dayNumber, dayOfWeek, fromDayNumber, yearsBetween } from './calendar.ts';
import {
  ACUTE,
  MEDICATIONS,
  WELL_CHILD_MONTHS,
  type AcuteDef,
  type ChronicKey,
  type VisitKind,
} from './clinicalCatalog.ts';
import type { PatientProfile } from './patients.ts';
import type { Clinician, Practice } from './practice.ts';
import type { Random } from './random.ts';

/** Anyone who sees the patient: a clinician, or the practice nurse for a vaccination. */
export interface Provider {
  practitionerId: string;
  title: string;
}

export interface Visit {
  date: string;
  /** Start, in minutes after local midnight. */
  start: number;
  minutes: number;
  kind: VisitKind;
  provider: Provider;
  /** The clinician's site for clinician visits; undefined means the main clinic. */
  locationId?: string;
  /** Problems this follow-up is about. */
  problems: ChronicKey[];
  acute?: AcuteDef;
  appointmentId?: string;
}

export const WEEKDAY_SLOT_MINUTES = 20;
export const WEEKEND_SLOT_MINUTES = 15;

/** Start times of the bookable slots on a day: 08:00-12:00 and 13:00-17:00 on weekdays, 09:00-15:00 at weekends. */
export function slotStarts(weekend: boolean): number[] {
  const starts: number[] = [];
  if (weekend) {
    for (let m = 9 * 60; m < 15 * 60; m += WEEKEND_SLOT_MINUTES) starts.push(m);
  } else {
    for (let m = 8 * 60; m < 12 * 60; m += WEEKDAY_SLOT_MINUTES) starts.push(m);
    for (let m = 13 * 60; m < 17 * 60; m += WEEKDAY_SLOT_MINUTES) starts.push(m);
  }
  return starts;
}

const isWinter = (date: string) => {
  const month = Number(date.slice(5, 7));
  return month >= 10 || month <= 3;
};

/** A same-day illness fitting the patient's age, the season and their allergies. */
export function pickAcute(rng: Random, profile: PatientProfile, date: string): AcuteDef {
  const age = ageOn(profile.birthDate, date);
  const winter = isWinter(date);
  const options = ACUTE.filter(
    (a) =>
      age >= a.minAge &&
      (a.maxAge === undefined || age <= a.maxAge) &&
      !(
        profile.penicillinAllergy &&
        a.medication &&
        /amoxicillin|penicillin/i.test(MEDICATIONS[a.medication].display)
      ),
  );
  return rng.weighted(options.map((a) => [a, a.weight * (a.winter ? (winter ? 2 : 0.5) : 1)] as const));
}

/** Chronic problems that exist by `date` and need regular follow-up. */
export function followUpProblems(profile: PatientProfile, date: string): ChronicKey[] {
  return profile.chronic
    .filter((c) => c.def.followUpMonths && c.onset <= addDays(date, -30))
    .map((c) => c.def.key);
}

export interface Reason {
  kind: VisitKind;
  problems: ChronicKey[];
  acute?: AcuteDef;
}

/** Why a patient books a visit on a given day (the weekend clinic sees no physicals). */
export function pickReason(rng: Random, profile: PatientProfile, date: string, weekend: boolean): Reason {
  const age = ageOn(profile.birthDate, date);
  const chronic = followUpProblems(profile, date);
  const followUp = (): Reason => ({
    kind: 'followUp',
    problems: rng.sample(chronic, rng.chance(0.4) ? 2 : 1),
  });
  const acute = (): Reason => ({ kind: 'acute', problems: [], acute: pickAcute(rng, profile, date) });
  if (weekend) return chronic.length && rng.chance(0.25) ? followUp() : acute();
  if (age < 18) return rng.chance(0.35) ? { kind: 'wellChild', problems: [] } : acute();
  if (chronic.length) {
    return rng.weighted<() => Reason>([
      [followUp, 55],
      [() => ({ kind: 'wellness', problems: [] }), 15],
      [acute, 30],
    ])();
  }
  return rng.chance(0.35) ? { kind: 'wellness', problems: [] } : acute();
}

/** Moves a weekend date to the nearest weekday: the practice's history predates its weekend clinic. */
function weekday(date: string): string {
  const dow = dayOfWeek(date);
  return dow === 6 ? addDays(date, -1) : dow === 0 ? addDays(date, 1) : date;
}

/** A flu season is named by the year it starts (season 2025 runs from September 2025 to March 2026). */
export const fluSeasonOf = (date: string) => {
  const year = Number(date.slice(0, 4));
  return Number(date.slice(5, 7)) >= 8 ? year : year - 1;
};

/** Flu seasons in which the patient takes the vaccine (decided once per patient and season). */
export function fluSeasons(profile: PatientProfile, from: string, to: string): Set<number> {
  const rng = profile.rng.fork('flu');
  const seasons = new Set<number>();
  for (let year = fluSeasonOf(from); year <= fluSeasonOf(to); year++) {
    // Infants start at 6 months; propensity is per person, with some year-to-year wobble.
    if (yearsBetween(profile.birthDate, `${year}-10-15`) < 0.5) continue;
    if (rng.chance(profile.fluPropensity)) seasons.add(year);
  }
  return seasons;
}

/**
 * The visits of the years before the appointment book: from the first visit up to (not including)
 * `until`. Same-kind visits that fall close together are merged, as a real schedule would.
 */
export function historicalVisits(practice: Practice, profile: PatientProfile, until: string): Visit[] {
  const rng = profile.rng.fork('timeline');
  const start = profile.firstVisit;
  const planned: { date: string; kind: VisitKind; problems: ChronicKey[]; acute?: AcuteDef }[] = [];
  const inRange = (d: string) => d >= start && d < until;

  // The chart opens with a new-patient visit; then well visits follow the pediatric periodicity
  // schedule, and yearly physicals around the first visit's date for adults.
  const adultFrom = addMonths(profile.birthDate, 18 * 12);
  if (inRange(start))
    planned.push({ date: start, kind: start >= adultFrom ? 'wellness' : 'wellChild', problems: [] });
  for (const months of WELL_CHILD_MONTHS) {
    const d = addDays(addMonths(profile.birthDate, months), rng.int(-5, 10));
    if (inRange(d)) planned.push({ date: d, kind: 'wellChild', problems: [] });
  }
  for (let d = addDays(start, 365); d < until; d = addDays(d, 365)) {
    const date = addDays(d, rng.int(-20, 20));
    if (date >= adultFrom && inRange(date) && rng.chance(0.85))
      planned.push({ date, kind: 'wellness', problems: [] });
  }

  // Chronic follow-ups, from diagnosis (or the first visit) at the shortest interval among the problems.
  for (let d = start; d < until;) {
    const due = followUpProblems(profile, d);
    const interval = Math.min(
      ...due.map((k) => profile.chronic.find((c) => c.def.key === k)?.def.followUpMonths ?? 12),
    );
    if (!due.length) {
      d = addDays(d, 30);
      continue;
    }
    const date = addDays(d, rng.int(-14, 14));
    const nearWell = planned.some(
      (v) => v.kind !== 'followUp' && Math.abs(dayNumber(v.date) - dayNumber(date)) < 45,
    );
    if (inRange(date) && !nearWell && rng.chance(0.92))
      planned.push({ date, kind: 'followUp', problems: due });
    d = addMonths(d, interval);
  }

  // Same-day illnesses: more for young children and older adults.
  const years = Math.max(0, yearsBetween(start, until));
  const age = ageOn(profile.birthDate, until);
  const rate = age < 6 ? 1.6 : age < 18 ? 0.9 : age >= 65 ? 0.8 : 0.6;
  const illnesses = Math.round(years * rate * rng.real(0.5, 1.5));
  for (let i = 0; i < illnesses; i++) {
    const date = fromDayNumber(rng.int(dayNumber(start), dayNumber(until) - 1));
    planned.push({ date, kind: 'acute', problems: [], acute: pickAcute(rng, profile, date) });
  }

  // Nurse visits for flu shots in seasons without another visit in the autumn.
  for (const season of fluSeasons(profile, start, until)) {
    const from = `${season}-09-15`;
    const to = `${season}-12-15`;
    if (planned.some((v) => v.date >= from && v.date <= to)) continue;
    const date = addDays(`${season}-10-01`, rng.int(0, 45));
    if (inRange(date)) planned.push({ date, kind: 'nurseVaccine', problems: [] });
  }

  const slots = slotStarts(false);
  const visits = planned.map((v): Visit => {
    const date = weekday(v.date);
    const clinician: Clinician =
      v.kind === 'acute' && rng.chance(0.45)
        ? rng.pick(practice.clinicians)
        : rng.chance(0.9)
          ? profile.gp
          : rng.pick(practice.clinicians);
    const long = v.kind === 'wellness' || v.kind === 'wellChild';
    let slot = rng.int(0, slots.length - (long ? 2 : 1));
    if (long && slots[slot + 1] !== slots[slot] + WEEKDAY_SLOT_MINUTES) slot -= 1;
    if (v.kind === 'nurseVaccine') {
      const nurse = practice.staff.nurse;
      return {
        ...v,
        date,
        start: slots[slot],
        minutes: 15,
        provider: nurse,
        locationId: practice.sites[0].id,
      };
    }
    return {
      ...v,
      date,
      start: slots[slot],
      minutes: long ? 2 * WEEKDAY_SLOT_MINUTES : WEEKDAY_SLOT_MINUTES,
      provider: clinician,
      locationId: clinician.site.id,
    };
  });
  // One visit a day at most: a second problem on the same day is handled at the first visit.
  const sorted = visits.filter((v) => v.date >= start && v.date < until).sort(byTime);
  return sorted.filter((v, i) => i === 0 || sorted[i - 1].date !== v.date);
}

export const byTime = (a: Visit, b: Visit) =>
  a.date === b.date ? a.start - b.start : a.date < b.date ? -1 : 1;
