/**
 * The patient panel: who each patient is (age, family, contacts, clinician), what long-term problems
 * and allergies they carry and since when, and the Patient resource itself. The clinical history is
 * built from these profiles by history.ts.
 */
import type { Resource } from '../fhir/types.ts';
import { addDays, ageOn, dayNumber, fromDayNumber } from './calendar.ts';
import {
  ALLERGENS,
  CHRONIC,
  CHRONIC_KEYS,
  type AllergenDef,
  type ChronicDef,
  type ChronicKey,
} from './clinicalCatalog.ts';
import type { DemoContext } from './context.ts';
import { concept, ref, SYSTEMS } from './elements.ts';
import { displayName, email, homeAddress, personName, phoneNumber, type PersonName } from './names.ts';
import type { Clinician, Practice } from './practice.ts';
import { PRACTICE_NAME } from './practice.ts';
import type { Random } from './random.ts';

export interface ChronicProblem {
  def: ChronicDef;
  /** When it began (may precede the patient's first visit here). */
  onset: string;
}

export interface PatientProfile {
  number: number;
  id: string;
  mrn: string;
  /** The patient's own random stream, so one chart's history never shifts another's. */
  rng: Random;
  name: PersonName;
  display: string;
  gender: 'male' | 'female';
  female: boolean;
  birthDate: string;
  gp: Clinician;
  /** First visit at this practice: the chart starts here. */
  firstVisit: string;
  chronic: ChronicProblem[];
  allergies: AllergenDef[];
  penicillinAllergy: boolean;
  restricted: boolean;
  advanceDirective?: 'dnr' | 'healthCareProxy';
  /** The emergency contact (or parent), reused by the advance directive as health-care agent. */
  contactName: PersonName;
  contactGender: 'male' | 'female';
  /** How likely this person is to take a flu shot in a given season. */
  fluPropensity: number;
  /** Z-score of adult height and the adult BMI the patient tends towards. */
  heightZ: number;
  bmi: number;
  language: 'en' | 'es';
}

const AGE_BANDS: (readonly [[number, number], number])[] = [
  [[0, 4], 6],
  [[5, 12], 8],
  [[13, 17], 6],
  [[18, 29], 13],
  [[30, 44], 19],
  [[45, 64], 28],
  [[65, 79], 15],
  [[80, 96], 5],
];

const has = (problems: ChronicProblem[], key: ChronicKey) => problems.some((p) => p.def.key === key);

/** First age at which a problem can appear, read off its prevalence curve. */
function earliestAge(def: ChronicDef, female: boolean): number {
  for (let age = 0; age < 100; age++) if (def.prevalence(age, female) > 0) return age;
  return 100;
}

function chronicProblems(
  rng: Random,
  ctx: DemoContext,
  birthDate: string,
  female: boolean,
): ChronicProblem[] {
  const age = ageOn(birthDate, ctx.today);
  const problems: ChronicProblem[] = [];
  for (const key of CHRONIC_KEYS) {
    const def = CHRONIC[key];
    let p = def.prevalence(age, female);
    // Risk clusters: obesity raises diabetes and hypertension; kidney disease follows them.
    if ((key === 'diabetes' || key === 'hypertension') && has(problems, 'obesity')) p *= 1.6;
    if (key === 'prediabetes' && has(problems, 'diabetes')) p = 0;
    if (key === 'ckd3') p *= has(problems, 'hypertension') || has(problems, 'diabetes') ? 2.2 : 0.3;
    if (key === 'hyperlipidemia' && has(problems, 'diabetes')) p *= 1.5;
    if (!rng.chance(Math.min(0.9, p))) continue;
    // Onset somewhere between the earliest plausible age and two months ago; long-standing
    // problems are common, so the span reaches back up to 15 years.
    const earliest = Math.max(
      dayNumber(birthDate) + Math.round(earliestAge(def, female) * 365.25),
      dayNumber(ctx.today) - 15 * 365,
    );
    const latest = dayNumber(ctx.today) - 60;
    if (latest <= earliest) continue;
    problems.push({ def, onset: fromDayNumber(rng.int(earliest, latest)) });
  }
  // Kidney disease is found after the problems that cause it.
  const ckd = problems.find((p) => p.def.key === 'ckd3');
  const cause = problems.find((p) => p.def.key === 'hypertension' || p.def.key === 'diabetes');
  if (ckd && cause && ckd.onset < cause.onset) ckd.onset = addDays(cause.onset, 365 * 2 + rng.int(0, 700));
  if (ckd && ckd.onset > addDays(ctx.today, -60)) problems.splice(problems.indexOf(ckd), 1);
  return problems;
}

function pickAllergies(rng: Random, age: number): AllergenDef[] {
  if (!rng.chance(age < 18 ? 0.15 : 0.27)) return [];
  const count = rng.chance(0.25) ? 2 : 1;
  const picked: AllergenDef[] = [];
  while (picked.length < count) {
    const a = rng.weighted(ALLERGENS.map((x) => [x, x.weight] as const));
    if (!picked.includes(a)) picked.push(a);
  }
  return picked;
}

export function buildProfiles(ctx: DemoContext, practice: Practice, count: number): PatientProfile[] {
  const pad = Math.max(4, String(count).length);
  const gpWeights = practice.clinicians.map(
    (c) => [c, c.kind === 'physician' ? 3 : c.kind === 'nursePractitioner' ? 2 : 1.5] as const,
  );
  const profiles: PatientProfile[] = [];
  for (let number = 1; number <= count; number++) {
    const rng = ctx.rng.fork('patient', number);
    const gender = rng.chance(0.52) ? 'female' : 'male';
    const female = gender === 'female';
    const [minAge, maxAge] = rng.weighted(AGE_BANDS);
    const age = rng.int(minAge, maxAge);
    const birthDate = addDays(ctx.today, -(age * 365 + Math.floor(age / 4) + rng.int(1, 364)));
    const realAge = ageOn(birthDate, ctx.today);
    const chronic = chronicProblems(rng, ctx, birthDate, female);
    // Children are often patients since birth; adults joined 1-9 years ago, chronic patients at
    // least 2.5 years ago so that their lab trends have a few points.
    const minYears = chronic.length ? 2.5 : 1;
    const maxYears = Math.max(minYears, Math.min(9, realAge));
    let firstVisit = addDays(ctx.today, -Math.round(rng.real(minYears, maxYears) * 365));
    if (realAge < 6 || firstVisit < birthDate) firstVisit = addDays(birthDate, rng.int(3, 10));
    const allergies = pickAllergies(rng, realAge);
    const name = personName(rng, gender);
    const obese = chronic.some((p) => p.def.key === 'obesity');
    const contactGender = rng.chance(0.5) ? 'female' : 'male';
    profiles.push({
      number,
      id: `demo-pat-${String(number).padStart(pad, '0')}`,
      mrn: String(1_002_000 + number * 13),
      rng: rng.fork('history'),
      name,
      display: displayName(name),
      gender,
      female,
      birthDate,
      gp: rng.weighted(gpWeights),
      firstVisit,
      chronic,
      allergies,
      penicillinAllergy: allergies.some((a) => a.penicillin),
      restricted: false,
      contactName: personName(rng, contactGender, rng.chance(0.7) ? name.family : undefined),
      contactGender,
      fluPropensity: realAge >= 65 ? rng.real(0.5, 0.95) : rng.real(0.1, 0.8),
      heightZ: rng.clampedNormal(0, 1, -2.2, 2.2),
      bmi: obese ? rng.clampedNormal(34, 3, 30.2, 45) : rng.clampedNormal(25, 2.6, 19, 29.5),
      language: rng.chance(0.08) ? 'es' : 'en',
    });
  }

  // A few charts are restricted (staff members, public figures), ~2%, and ~5% (mostly older
  // patients) have an advance directive on file. Exact counts make the demo predictable.
  const rng = ctx.rng.fork('flags');
  for (const p of rng.sample(profiles, Math.max(2, Math.round(count * 0.02)))) p.restricted = true;
  const adults = profiles.filter((p) => ageOn(p.birthDate, ctx.today) >= 40);
  const byAge = rng
    .shuffle(adults)
    .sort(
      (a, b) => (ageOn(a.birthDate, ctx.today) >= 65 ? 0 : 1) - (ageOn(b.birthDate, ctx.today) >= 65 ? 0 : 1),
    );
  for (const p of byAge.slice(0, Math.max(3, Math.round(count * 0.05)))) {
    p.advanceDirective = rng.chance(0.55) ? 'dnr' : 'healthCareProxy';
  }
  return profiles;
}

const RESTRICTED = { system: SYSTEMS.v3Confidentiality, code: 'R', display: 'restricted' };

/** meta.security for every resource in a restricted chart. */
export const chartMeta = (profile: PatientProfile) =>
  profile.restricted ? { meta: { security: [RESTRICTED] } } : {};

function maritalStatus(rng: Random, age: number) {
  const table: [string, string, number][] =
    age < 25
      ? [
          ['S', 'Never Married', 85],
          ['M', 'Married', 15],
        ]
      : age < 65
        ? [
            ['M', 'Married', 55],
            ['S', 'Never Married', 25],
            ['D', 'Divorced', 15],
            ['W', 'Widowed', 5],
          ]
        : [
            ['M', 'Married', 50],
            ['W', 'Widowed', 30],
            ['D', 'Divorced', 15],
            ['S', 'Never Married', 5],
          ];
  const [code, display] = rng.weighted(table.map((row) => [row, row[2]] as const));
  return { code, display };
}

const RELATIONS = {
  spouse: ['SPS', 'spouse'],
  mother: ['MTH', 'mother'],
  father: ['FTH', 'father'],
  daughter: ['DAUC', 'daughter'],
  son: ['SONC', 'son'],
  sibling: ['SIB', 'sibling'],
  friend: ['FRND', 'unrelated friend'],
} as const;

export function patientResource(ctx: DemoContext, practice: Practice, profile: PatientProfile): Resource {
  const rng = ctx.rng.fork('patient-demographics', profile.number);
  const age = ageOn(profile.birthDate, ctx.today);
  const minor = age < 18;
  const marital = minor ? undefined : maritalStatus(rng, age);
  const address = homeAddress(rng, ctx.region);
  const phone = phoneNumber(rng, ctx.region);

  const contactGender = profile.contactGender;
  let relation: keyof typeof RELATIONS;
  if (minor) relation = contactGender === 'female' ? 'mother' : 'father';
  else if (marital?.code === 'M') relation = 'spouse';
  else if (age >= 70) relation = contactGender === 'female' ? 'daughter' : 'son';
  else if (age < 30) relation = contactGender === 'female' ? 'mother' : 'father';
  else relation = rng.pick(['sibling', 'friend'] as const);
  const [roleCode, roleDisplay] = RELATIONS[relation];

  const contact = {
    relationship: [
      concept(SYSTEMS.v2ContactRole, minor ? 'N' : 'C', minor ? 'Next-of-Kin' : 'Emergency Contact'),
      concept(SYSTEMS.v3RoleCode, roleCode, roleDisplay),
    ],
    name: {
      use: 'official',
      family: profile.contactName.family,
      given: profile.contactName.given.slice(0, 1),
    },
    telecom: [{ system: 'phone', value: minor ? phone : phoneNumber(rng, ctx.region), use: 'mobile' }],
    gender: contactGender,
  };

  const telecom: object[] = minor
    ? [{ system: 'phone', value: phone, use: 'home', rank: 1 }]
    : [
        { system: 'phone', value: phone, use: 'mobile', rank: 1 },
        ...(rng.chance(0.8) ? [{ system: 'email', value: email(rng, profile.name), use: 'home' }] : []),
      ];

  return {
    resourceType: 'Patient',
    id: profile.id,
    ...chartMeta(profile),
    identifier: [
      {
        use: 'usual',
        type: concept(SYSTEMS.v2IdentifierType, 'MR', 'Medical record number'),
        system: SYSTEMS.mrn,
        value: profile.mrn,
        assigner: { display: PRACTICE_NAME },
      },
    ],
    active: true,
    name: [{ use: 'official', family: profile.name.family, given: profile.name.given }],
    telecom,
    gender: profile.gender,
    birthDate: profile.birthDate,
    address: [{ use: 'home', type: 'both', ...address }],
    ...(marital ? { maritalStatus: concept(SYSTEMS.v3MaritalStatus, marital.code, marital.display) } : {}),
    contact: [contact],
    communication: [
      {
        language:
          profile.language === 'es'
            ? concept(SYSTEMS.language, 'es', 'Spanish')
            : concept(SYSTEMS.language, 'en-US', 'English (United States)'),
        preferred: true,
      },
    ],
    generalPractitioner: [ref('Practitioner', profile.gp.practitionerId, profile.gp.title)],
    managingOrganization: ref('Organization', practice.organizationId, PRACTICE_NAME),
  };
}

export const patientRef = (p: PatientProfile) => ref('Patient', p.id, p.display);
