/**
 * The state of one chart while its history is written, and the verbs every step uses: record a
 * problem or an allergy, prescribe, refer. history.ts drives the visits; observations.ts and
 * treatment.ts hold the lab and treatment policies; all of them share this state.
 */
import type { Resource } from '../fhir/types.ts';
import type {
  AllergenDef,
  ChronicKey,
  LabKey,
  MedicationKey,
  PanelKey,
  ProblemDef,
  SpecialtyKey,
} from './clinicalCatalog.ts';
import { at, type DemoContext } from './context.ts';
import { coding, concept, ref, SYSTEMS } from './elements.ts';
import type { Course, MedicationList } from './medications.ts';
import type { NoteBody } from './notes.ts';
import { chartMeta, patientRef, type PatientProfile } from './patients.ts';
import type { Physiology, Vitals } from './physiology.ts';
import type { Practice } from './practice.ts';
import type { Random } from './random.ts';
import { referralResources } from './referrals.ts';
import type { Visit } from './visits.ts';

/** Collects one chart's resources and hands out stable, readable ids (`demo-pat-0001-obs-012`). */
export class Chart {
  readonly resources: Resource[] = [];
  private readonly counters = new Map<string, number>();
  private readonly profile: PatientProfile;

  constructor(profile: PatientProfile) {
    this.profile = profile;
  }

  id(kind: string): string {
    const n = (this.counters.get(kind) ?? 0) + 1;
    this.counters.set(kind, n);
    return `${this.profile.id}-${kind}-${String(n).padStart(3, '0')}`;
  }

  /** Adds a resource, labelled restricted when the chart is. */
  add(resource: Resource): void {
    if (!this.profile.restricted) {
      this.resources.push(resource);
      return;
    }
    // Keep meta right after the id, where readers expect it.
    const { resourceType, id, ...rest } = resource;
    this.resources.push({ resourceType, id, ...chartMeta(this.profile), ...rest });
  }
}

/** A problem on the list: its Condition id and the text used when other resources cite it. */
export interface ProblemRef {
  id: string;
  text: string;
}

export interface ChartState {
  ctx: DemoContext;
  practice: Practice;
  profile: PatientProfile;
  chart: Chart;
  rng: Random;
  body: Physiology;
  meds: MedicationList;
  /** Problems diagnosed so far. */
  conditions: Map<ChronicKey, ProblemRef>;
  /** When each lab panel was last resulted. */
  lastPanel: Map<PanelKey, string>;
  referred: SpecialtyKey[];
  intolerances: Set<string>;
  /** Office blood pressures so far, newest last: treatment steps up on sustained readings only. */
  bloodPressures: { systolic: number; diastolic: number }[];
  /** Visits so far; the last one is the visit being written. */
  encounters: { visit: Visit; id: string }[];
  /** The note of the visit being written. */
  note: NoteBody;
}

/** What was measured at the visit being written. */
export interface VisitFacts {
  vitals?: Vitals;
  labs: Map<LabKey, number>;
  panels: PanelKey[];
  labsPending: boolean;
}

export const currentVisit = (s: ChartState) => s.encounters[s.encounters.length - 1].visit;
export const currentEncounterId = (s: ChartState) => s.encounters[s.encounters.length - 1].id;
const providerRef = (v: Visit) => ref('Practitioner', v.provider.practitionerId, v.provider.title);

export const problemCode = (p: ProblemDef) => ({
  coding: [coding(SYSTEMS.snomed, p.snomed, p.display), coding(SYSTEMS.icd10cm, p.icd10, p.icd10Display)],
  text: p.text,
});

/** Records a Condition at the current visit; chronic ones go on the problem list. */
export function recordCondition(
  s: ChartState,
  def: ProblemDef,
  opts: { chronic: boolean; onset: string; abatement?: string },
): string {
  const v = currentVisit(s);
  const id = s.chart.id('cond');
  const resolved = opts.abatement !== undefined && opts.abatement < s.ctx.today;
  s.chart.add({
    resourceType: 'Condition',
    id,
    clinicalStatus: resolved
      ? concept(SYSTEMS.conditionClinical, 'resolved', 'Resolved')
      : concept(SYSTEMS.conditionClinical, 'active', 'Active'),
    verificationStatus: concept(SYSTEMS.conditionVerification, 'confirmed', 'Confirmed'),
    category: [
      opts.chronic
        ? concept(SYSTEMS.conditionCategory, 'problem-list-item', 'Problem List Item')
        : concept(SYSTEMS.conditionCategory, 'encounter-diagnosis', 'Encounter Diagnosis'),
    ],
    code: problemCode(def),
    subject: patientRef(s.profile),
    encounter: ref('Encounter', currentEncounterId(s)),
    onsetDateTime: opts.onset,
    ...(resolved ? { abatementDateTime: opts.abatement } : {}),
    recordedDate: at(s.ctx, v.date, v.start + 5),
    recorder: providerRef(v),
    asserter: providerRef(v),
  });
  return id;
}

/** Puts a chronic problem on the list (once). */
export function diagnose(s: ChartState, def: ProblemDef & { key: ChronicKey }, onset: string): ProblemRef {
  const problem = { id: recordCondition(s, def, { chronic: true, onset }), text: def.text };
  s.conditions.set(def.key, problem);
  return problem;
}

export function recordAllergy(s: ChartState, a: AllergenDef, minutesIntoVisit: number): void {
  const v = currentVisit(s);
  const severe = a.reactions.some((r) => r.snomed === '39579001');
  s.chart.add({
    resourceType: 'AllergyIntolerance',
    id: s.chart.id('alg'),
    clinicalStatus: concept(SYSTEMS.allergyClinical, 'active', 'Active'),
    verificationStatus: concept(SYSTEMS.allergyVerification, 'confirmed', 'Confirmed'),
    type: a.type,
    category: [a.category],
    criticality: severe ? 'high' : 'low',
    code: concept(a.system === 'rxnorm' ? SYSTEMS.rxnorm : SYSTEMS.snomed, a.code, a.display),
    patient: patientRef(s.profile),
    encounter: ref('Encounter', currentEncounterId(s)),
    recordedDate: at(s.ctx, v.date, v.start + minutesIntoVisit),
    recorder: providerRef(v),
    reaction: [
      {
        manifestation: a.reactions.map((r) => concept(SYSTEMS.snomed, r.snomed, r.display)),
        severity: severe ? 'severe' : s.rng.chance(0.6) ? 'mild' : 'moderate',
      },
    ],
  });
}

/** Prescribes a drug at the current visit for a problem on the list (or any cited Condition). */
export function prescribe(
  s: ChartState,
  key: MedicationKey,
  reason: ChronicKey | ProblemRef,
  extra: Partial<Course> = {},
): Course {
  const v = currentVisit(s);
  const r = typeof reason === 'string' ? s.conditions.get(reason) : reason;
  return s.meds.start({
    key,
    id: s.chart.id('med'),
    date: v.date,
    minutes: v.start + 10,
    encounterId: currentEncounterId(s),
    requester: v.provider,
    reasonConditionId: r?.id,
    reasonText: r?.text,
    ...extra,
  });
}

/** Refers the patient out from the current visit (once per specialty). */
export function refer(s: ChartState, specialty: SpecialtyKey, reason: ProblemRef, question: string): void {
  if (s.referred.includes(specialty)) return;
  s.referred.push(specialty);
  const v = currentVisit(s);
  const resources = referralResources(s.ctx, s.practice, s.profile, s.rng, {
    specialty,
    date: v.date,
    minutes: v.start + v.minutes - 5,
    encounterId: currentEncounterId(s),
    requester: v.provider,
    reasonConditionId: reason.id,
    reasonText: reason.text,
    question,
    // A consult note id is reserved even when the consult has not happened yet; gaps are harmless.
    ids: { serviceRequest: s.chart.id('sr'), task: s.chart.id('task'), consultNote: s.chart.id('doc') },
  });
  for (const r of resources) s.chart.add(r);
}
