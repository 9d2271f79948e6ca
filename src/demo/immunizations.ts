/**
 * Which vaccines a patient gets and when: the childhood series at well-child visits, a flu shot in
 * the seasons the patient takes one, Tdap every ten years, the shingles series from 50 and a
 * pneumococcal vaccine from 65, plus records brought from elsewhere (childhood doses before the
 * patient joined, COVID-19 doses from a pharmacy) entered as reported, not administered, here.
 */
import type { Resource } from '../fhir/types.ts';
import { addDays, addMonths, ageOn, dayNumber, yearsBetween } from './calendar.ts';
import { CHILDHOOD_SCHEDULE, VACCINES, type VaccineDef } from './clinicalCatalog.ts';
import { at, type DemoContext } from './context.ts';
import { concept, quantity, ref, SYSTEMS } from './elements.ts';
import { patientRef, type PatientProfile } from './patients.ts';
import type { Random } from './random.ts';
import { fluSeasonOf, fluSeasons, type Visit } from './visits.ts';

/** First US use of the newer childhood vaccines, so no record predates its vaccine. */
const LICENSED: Record<string, string> = {
  pcv13: '2010-03-01',
  hpv9: '2015-01-01',
  menacwy: '2010-03-01',
  tdap: '2005-06-01',
};

export interface OutsideRecord {
  date: string;
  vaccine: VaccineDef;
  doseNumber?: number;
}

export interface Given {
  vaccine: VaccineDef;
  doseNumber?: number;
}

export class VaccinationPlan {
  private readonly profile: PatientProfile;
  private readonly rng: Random;
  private readonly outside: OutsideRecord[] = [];
  /** Childhood doses still to give: the date from which each is due. */
  private readonly childhoodDue: { from: string; vaccine: VaccineDef }[] = [];
  private readonly flu: Set<number>;
  private readonly fluGiven = new Set<number>();
  private lastTetanus?: string;
  private adultTdapGiven = false;
  private readonly takesShingles: boolean;
  private shinglesDoses: string[] = [];
  private readonly takesPneumococcal: boolean;
  private pneumococcalGiven = false;

  constructor(ctx: DemoContext, profile: PatientProfile, rng: Random) {
    this.profile = profile;
    this.rng = rng;
    this.flu = fluSeasons(profile, profile.firstVisit, ctx.today);
    this.takesShingles = rng.chance(0.55);
    this.takesPneumococcal = rng.chance(0.75);

    // Childhood doses: given here once the child is a patient; earlier ones come with the
    // pediatric records of children and young adults (older adults' cards are long lost, and
    // several of these vaccines did not exist in their childhood).
    const transfersRecords = ageOn(profile.birthDate, profile.firstVisit) < 26;
    for (const [months, vaccines] of CHILDHOOD_SCHEDULE) {
      const due = addMonths(profile.birthDate, months);
      if (due > ctx.today) continue;
      for (const vaccine of vaccines) {
        if (due >= profile.firstVisit) this.childhoodDue.push({ from: addDays(due, -14), vaccine });
        else if (transfersRecords && due >= (LICENSED[vaccine.key] ?? '1995-01-01')) {
          this.outside.push({ date: addDays(due, rng.int(0, 20)), vaccine });
        }
      }
    }
    // Adults carry a tetanus booster from some time in the last 14 years (or their teens).
    const age = ageOn(profile.birthDate, profile.firstVisit);
    if (age >= 18) {
      const teen = addMonths(profile.birthDate, 132);
      const recent = addDays(profile.firstVisit, -rng.int(0, 14 * 365));
      this.lastTetanus = recent > teen ? recent : teen;
    } else if (addMonths(profile.birthDate, 132) < profile.firstVisit) {
      this.lastTetanus = addMonths(profile.birthDate, 132);
    }
    // COVID-19 doses from a pharmacy, for adults who had them (reported at the next visit).
    if (yearsBetween(profile.birthDate, '2021-04-01') >= 18 && rng.chance(0.65)) {
      const first = addDays('2021-03-22', rng.int(0, 50));
      this.outside.push({ date: first, vaccine: VACCINES.covidPfizer, doseNumber: 1 });
      this.outside.push({ date: addDays(first, 21), vaccine: VACCINES.covidPfizer, doseNumber: 2 });
      if (rng.chance(0.7))
        this.outside.push({
          date: addDays('2021-10-25', rng.int(0, 70)),
          vaccine: VACCINES.covidUnspecified,
          doseNumber: 3,
        });
      if (yearsBetween(profile.birthDate, '2023-10-01') >= 65 && rng.chance(0.5)) {
        this.outside.push({
          date: addDays('2023-09-25', rng.int(0, 60)),
          vaccine: VACCINES.covidUnspecified,
          doseNumber: 4,
        });
      }
    }
    this.outside.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
  }

  /** Outside records dated before `date` not yet entered; they are entered now. */
  takeOutsideRecords(date: string): OutsideRecord[] {
    const out: OutsideRecord[] = [];
    while (this.outside.length && this.outside[0].date < date)
      out.push(this.outside.shift() as OutsideRecord);
    return out;
  }

  /** The vaccines given at this visit. */
  giveAt(visit: Visit): Given[] {
    const given: Given[] = [];
    const age = yearsBetween(this.profile.birthDate, visit.date);
    if (visit.kind === 'wellChild') {
      for (let i = 0; i < this.childhoodDue.length;) {
        const due = this.childhoodDue[i];
        if (due.from <= visit.date && !given.some((g) => g.vaccine === due.vaccine)) {
          given.push({ vaccine: due.vaccine });
          this.childhoodDue.splice(i, 1);
          if (due.vaccine.key === 'tdap') this.lastTetanus = visit.date;
        } else i++;
      }
    }

    const season = fluSeasonOf(visit.date);
    const month = Number(visit.date.slice(5, 7));
    const inSeason = month >= 9 || month <= 3;
    if (inSeason && this.flu.has(season) && !this.fluGiven.has(season) && age >= 0.5) {
      this.fluGiven.add(season);
      // The US went back to trivalent flu vaccines for the 2024-25 season.
      given.push({ vaccine: season >= 2024 ? VACCINES.fluTrivalent : VACCINES.fluQuadrivalent });
    }

    if (visit.kind === 'wellness') {
      if (age >= 19 && this.lastTetanus && dayNumber(visit.date) - dayNumber(this.lastTetanus) > 10 * 365) {
        given.push({ vaccine: this.adultTdapGiven ? VACCINES.td : VACCINES.tdap });
        this.adultTdapGiven = true;
        this.lastTetanus = visit.date;
      }
      if (age >= 50 && this.takesShingles && this.shinglesDoses.length === 0) {
        this.shinglesDoses.push(visit.date);
        given.push({ vaccine: VACCINES.zosterRecombinant, doseNumber: 1 });
      }
      if (age >= 65 && this.takesPneumococcal && !this.pneumococcalGiven) {
        this.pneumococcalGiven = true;
        given.push({ vaccine: VACCINES.ppsv23 });
      }
    }
    // The second shingles dose at any visit two to six months after the first.
    if (visit.kind !== 'wellness' && this.shinglesDoses.length === 1) {
      const gap = dayNumber(visit.date) - dayNumber(this.shinglesDoses[0]);
      if (gap >= 60 && gap <= 240) {
        this.shinglesDoses.push(visit.date);
        given.push({ vaccine: VACCINES.zosterRecombinant, doseNumber: 2 });
      }
    }
    return given;
  }

  lotNumber(): string {
    return `${this.rng.pick(['FK', 'EW', 'UT', 'AC', 'HL', 'PB'])}${this.rng.digits(4)}`;
  }
}

export interface ImmunizationInput {
  id: string;
  vaccine: VaccineDef;
  date: string;
  minutes: number;
  doseNumber?: number;
  /** Administered here: the visit, who gave it, and the lot. */
  administered?: {
    encounterId: string;
    performer: { practitionerId: string; title: string };
    locationId: string;
    lot: string;
  };
  /** Reported from elsewhere: when it was entered into this chart. */
  recordedOn?: string;
}

export function immunizationResource(
  ctx: DemoContext,
  profile: PatientProfile,
  input: ImmunizationInput,
): Resource {
  const a = input.administered;
  const age = yearsBetween(profile.birthDate, input.date);
  const site = age < 3 ? ['LT', 'left thigh'] : ['LD', 'left deltoid'];
  const route =
    input.vaccine.route === 'IM' ? ['IM', 'Injection, intramuscular'] : ['SQ', 'Injection, subcutaneous'];
  return {
    resourceType: 'Immunization',
    id: input.id,
    status: 'completed',
    vaccineCode: concept(SYSTEMS.cvx, input.vaccine.cvx, input.vaccine.display),
    patient: patientRef(profile),
    ...(a ? { encounter: ref('Encounter', a.encounterId) } : {}),
    occurrenceDateTime: a ? at(ctx, input.date, input.minutes) : input.date,
    recorded: a ? at(ctx, input.date, input.minutes) : at(ctx, input.recordedOn ?? input.date, input.minutes),
    primarySource: Boolean(a),
    ...(a ? {} : { reportOrigin: concept(SYSTEMS.immunizationOrigin, 'record', 'Written Record') }),
    ...(a
      ? {
          location: ref('Location', a.locationId),
          lotNumber: a.lot,
          expirationDate: addDays(input.date, 150 + (dayNumber(input.date) % 200)),
          site: concept(SYSTEMS.v3ActSite, site[0], site[1]),
          route: concept(SYSTEMS.v3Route, route[0], route[1]),
          doseQuantity: quantity(input.vaccine.dose, 'mL'),
          performer: [
            {
              function: concept(SYSTEMS.v2PerformerFunction, 'AP', 'Administering Provider'),
              actor: ref('Practitioner', a.performer.practitionerId, a.performer.title),
            },
          ],
        }
      : {}),
    ...(input.doseNumber ? { protocolApplied: [{ doseNumberPositiveInt: input.doseNumber }] } : {}),
  };
}
