/**
 * What the clinician does about each chronic problem: first-line drugs at diagnosis, step-up
 * rules at follow-up driven by today's numbers (blood pressure above 140/90 after three months on
 * a regimen, HbA1c 7.5% or more after five months on metformin, LDL 130 or more on simvastatin),
 * the ACE-inhibitor cough, yearly renewals, and which problems lead to a referral.
 */
import { ageOn, dayNumber } from './calendar.ts';
import {
  CHRONIC,
  LISINOPRIL_COUGH,
  MEDICATIONS,
  type ChronicKey,
  type MedicationKey,
  type SpecialtyKey,
} from './clinicalCatalog.ts';
import {
  currentEncounterId,
  currentVisit,
  prescribe,
  recordAllergy,
  refer,
  type ChartState,
  type ProblemRef,
  type VisitFacts,
} from './chart.ts';

const ANTIHYPERTENSIVES: MedicationKey[] = [
  'lisinopril10',
  'lisinopril20',
  'amlodipine5',
  'hydrochlorothiazide25',
];
const STATINS: MedicationKey[] = ['atorvastatin20', 'simvastatin20'];

/** Starts the standard first-line treatment for a problem; returns the drug names. */
export function startTherapy(s: ChartState, key: ChronicKey, continued: boolean): string[] {
  const extra = continued ? { continued: true } : {};
  const names: string[] = [];
  const start = (m: MedicationKey) => names.push(prescribe(s, m, key, extra).def.name);
  const age = ageOn(s.profile.birthDate, currentVisit(s).date);
  switch (key) {
    case 'hypertension':
      if (!s.meds.isOn(...ANTIHYPERTENSIVES)) {
        // ACE inhibitor first with diabetes or kidney disease, or under 60; otherwise a calcium-channel blocker.
        const acei = s.conditions.has('diabetes') || s.conditions.has('ckd3') || age < 60;
        start(acei && !s.intolerances.has('lisinopril') ? 'lisinopril10' : 'amlodipine5');
      }
      break;
    case 'diabetes':
      start('metforminEr500');
      if (age >= 40 && !s.meds.isOn(...STATINS)) start('atorvastatin20');
      break;
    case 'hyperlipidemia':
      if (!s.meds.isOn(...STATINS)) start(s.rng.chance(0.7) ? 'atorvastatin20' : 'simvastatin20');
      break;
    case 'hypothyroidism':
      start('levothyroxine75');
      break;
    case 'asthma':
      start('albuterolInhaler');
      if (s.rng.chance(0.5)) start('fluticasoneInhaler');
      break;
    case 'copd':
      if (!s.meds.isOn('albuterolInhaler')) start('albuterolInhaler');
      break;
    case 'atrialFibrillation':
      start('metoprololEr100');
      start('warfarin5');
      break;
    case 'kneeOsteoarthritis':
      if (s.rng.chance(0.6)) start('acetaminophen325');
      break;
    default:
      break;
  }
  return names;
}

const COUNSELING: Partial<Record<ChronicKey, string>> = {
  obesity: 'Nutrition and activity counseling; goal of 5% weight loss over 6 months.',
  prediabetes:
    'Lifestyle changes discussed; referral to the diabetes prevention program; repeat HbA1c in 1 year.',
  gerd: 'Smaller meals, avoid late eating and triggers; OTC acid reducer as needed.',
  allergicRhinitis: 'Nasal saline, OTC non-sedating antihistamine or nasal steroid in season.',
  migraine: 'Headache diary, trigger avoidance; OTC analgesic at onset, limit to 2 days a week.',
  depression: 'PHQ-9 reviewed; safety screen negative; psychotherapy recommended.',
  anxiety: 'GAD-7 reviewed; CBT recommended, sleep hygiene.',
  ckd3: 'Avoid NSAIDs, blood pressure control, renal dosing of medicines.',
  atopicDermatitis: 'Emollients twice daily, mild topical steroid for flares.',
};

export const counseling = (key: ChronicKey) => COUNSELING[key] ?? 'Education provided.';

/** Referral at diagnosis; a problem that arrives already known is referred less often. */
export function referOnDiagnosis(s: ChartState, key: ChronicKey, preexisting: boolean): void {
  const c = s.conditions.get(key);
  if (!c) return;
  const p = (newly: number, known: number) => s.rng.chance(preexisting ? known : newly);
  switch (key) {
    case 'atrialFibrillation':
      if (p(1, 0.3)) {
        refer(
          s,
          'cardiology',
          c,
          'Atrial fibrillation, rate controlled on metoprolol, anticoagulated. Please evaluate rhythm strategy and echo.',
        );
      }
      break;
    case 'ckd3':
      if (p(0.6, 0.2))
        refer(
          s,
          'nephrology',
          c,
          'CKD stage 3 with declining eGFR. Please advise on progression risk and management.',
        );
      break;
    case 'depression':
      if (p(0.7, 0.2))
        refer(s, 'behavioralHealth', c, 'Depressive symptoms; please evaluate for psychotherapy.');
      break;
    case 'anxiety':
      if (p(0.6, 0.2)) refer(s, 'behavioralHealth', c, 'Generalized anxiety; please evaluate for CBT.');
      break;
    case 'atopicDermatitis':
      if (p(0.5, 0.2))
        refer(
          s,
          'dermatology',
          c,
          'Eczema not controlled with emollients and topical steroid. Please evaluate.',
        );
      break;
    case 'kneeOsteoarthritis':
      if (p(0.5, 0.15))
        refer(
          s,
          'physicalTherapy',
          c,
          'Knee osteoarthritis with reduced function: strengthening program, please.',
        );
      break;
    default:
      break;
  }
}

const REVIEWS: Partial<Record<ChronicKey, [SpecialtyKey, string]>> = {
  hypertension: ['cardiology', 'Hypertension with LVH on ECG. Please evaluate and advise.'],
  hyperlipidemia: [
    'cardiology',
    'Hyperlipidemia with a family history of premature coronary disease. Please assess risk.',
  ],
  atrialFibrillation: [
    'cardiology',
    'Atrial fibrillation with occasional palpitations despite rate control. Please review.',
  ],
  diabetes: [
    'endocrinology',
    'Type 2 diabetes; patient asks about newer agents. Please advise on intensification.',
  ],
  ckd3: ['nephrology', 'CKD stage 3; please review progression risk and medications.'],
  depression: ['behavioralHealth', 'Persistent depressive symptoms; please evaluate for psychotherapy.'],
  anxiety: ['behavioralHealth', 'Anxiety interfering with work; please evaluate for CBT.'],
  kneeOsteoarthritis: ['orthopedics', 'Knee osteoarthritis limiting walking. Please evaluate for injection.'],
  atopicDermatitis: ['dermatology', 'Eczema flaring despite topical steroid. Please evaluate.'],
};

/**
 * A specialist review asked for at one of the last weeks' follow-ups, so that the demo shows
 * referrals still open (requested or accepted) next to the long-closed ones.
 */
export function maybeRequestReview(s: ChartState, key: ChronicKey): void {
  const review = REVIEWS[key];
  const problem = s.conditions.get(key);
  if (review && problem && s.rng.chance(0.3)) refer(s, review[0], problem, review[1]);
}

/** Follow-up decisions for one problem from today's numbers; writes the assessment and plan. */
export function manage(s: ChartState, key: ChronicKey, facts: VisitFacts): void {
  const v = currentVisit(s);
  const def = CHRONIC[key];
  const problem = s.conditions.get(key) as ProblemRef;
  const note = (assessment: string, plan?: string) => {
    s.note.assessment.push(assessment);
    if (plan) s.note.plan.push(plan);
  };
  // Days since the last prescription among these drugs was written.
  const daysOn = (keys: MedicationKey[]) => {
    const last = s.meds.courses
      .filter((c) => keys.includes(c.def.key) && !c.acute)
      .map((c) => c.date)
      .sort()
      .pop();
    return last ? dayNumber(v.date) - dayNumber(last) : Infinity;
  };

  switch (key) {
    case 'hypertension': {
      const vt = facts.vitals;
      if (!vt) return;
      const bp = `BP ${vt.systolic}/${vt.diastolic}`;
      const lisinopril = s.meds.active('lisinopril10') ?? s.meds.active('lisinopril20');
      const onAcei = daysOn(['lisinopril10', 'lisinopril20']);
      if (
        lisinopril &&
        onAcei > 30 &&
        onAcei < 400 &&
        !s.intolerances.has('lisinopril') &&
        s.rng.chance(0.05)
      ) {
        s.meds.end(lisinopril, v.date, 'stopped', 'Adverse effect: persistent dry cough');
        s.intolerances.add('lisinopril');
        recordAllergy(s, LISINOPRIL_COUGH, 8);
        const next: MedicationKey = s.meds.isOn('amlodipine5') ? 'hydrochlorothiazide25' : 'amlodipine5';
        prescribe(s, next, key);
        note(
          `Hypertension (${def.icd10}): dry cough on lisinopril, a known ACE-inhibitor effect.`,
          `Stop lisinopril; start ${MEDICATIONS[next].name}. Lisinopril intolerance recorded.`,
        );
        return;
      }
      // Step up only when this reading and the one before are both above 140/90.
      const high = (r?: { systolic: number; diastolic: number }) =>
        r !== undefined && (r.systolic >= 140 || r.diastolic >= 90);
      const previous = s.bloodPressures[s.bloodPressures.length - 2];
      if (!high(vt)) return note(`Hypertension (${def.icd10}): at goal, ${bp}.`);
      if (!high(previous)) {
        return note(
          `Hypertension (${def.icd10}): ${bp} today, at goal last visit.`,
          'Home BP log; recheck at next visit.',
        );
      }
      if (daysOn(ANTIHYPERTENSIVES) < 84) {
        return note(
          `Hypertension (${def.icd10}): ${bp}, recent medication change; recheck.`,
          'Home BP log for 2 weeks.',
        );
      }
      const l10 = s.meds.active('lisinopril10');
      if (l10) {
        s.meds.end(l10, v.date, 'stopped', 'Dose increased');
        prescribe(s, 'lisinopril20', key, { priorId: l10.id });
        note(
          `Hypertension (${def.icd10}): above goal, ${bp}.`,
          'Increase lisinopril to 20 mg daily; BMP in 2 weeks.',
        );
      } else if (!s.meds.isOn('amlodipine5')) {
        prescribe(s, 'amlodipine5', key);
        note(`Hypertension (${def.icd10}): above goal, ${bp}.`, 'Add amlodipine 5 mg daily.');
      } else if (!s.meds.isOn('hydrochlorothiazide25')) {
        prescribe(s, 'hydrochlorothiazide25', key);
        note(
          `Hypertension (${def.icd10}): above goal on two drugs, ${bp}.`,
          'Add hydrochlorothiazide 25 mg daily.',
        );
      } else {
        note(
          `Hypertension (${def.icd10}): resistant, ${bp} on three drugs.`,
          'Referral to cardiology for resistant hypertension.',
        );
        refer(
          s,
          'cardiology',
          problem,
          'Hypertension above goal on three agents. Please evaluate for secondary causes.',
        );
      }
      return;
    }
    case 'diabetes': {
      const a1c = facts.labs.get('a1c');
      if (a1c === undefined) return note(`${def.text} (${def.icd10}): no HbA1c due today.`);
      const metformin = s.meds.active('metforminEr500');
      if (a1c >= 7.5 && metformin && metformin.doseFactor === 1 && daysOn(['metforminEr500']) >= 150) {
        s.meds.end(metformin, v.date, 'stopped', 'Dose increased');
        prescribe(s, 'metforminEr500', key, { doseFactor: 2, priorId: metformin.id });
        note(
          `${def.text} (${def.icd10}): above goal, HbA1c ${a1c}%.`,
          'Increase metformin ER to 1,000 mg with the evening meal. Diabetes education.',
        );
      } else if (a1c >= 8.5 && metformin && metformin.doseFactor > 1) {
        note(
          `${def.text} (${def.icd10}): uncontrolled, HbA1c ${a1c}% on maximal metformin here.`,
          'Referral to endocrinology.',
        );
        refer(
          s,
          'endocrinology',
          problem,
          `HbA1c ${a1c}% despite metformin 1,000 mg. Please advise on intensification.`,
        );
      } else {
        note(
          `${def.text} (${def.icd10}): HbA1c ${a1c}% (goal under 7%).`,
          a1c < 7 ? 'Continue current regimen.' : 'Reinforced diet and activity; recheck in 3 months.',
        );
      }
      return;
    }
    case 'hyperlipidemia': {
      const ldl = facts.labs.get('ldl');
      if (ldl === undefined) return;
      const simvastatin = s.meds.active('simvastatin20');
      if (simvastatin && ldl >= 130 && daysOn(['simvastatin20']) >= 150) {
        s.meds.end(simvastatin, v.date, 'stopped', 'Switched to a higher-intensity statin');
        prescribe(s, 'atorvastatin20', key);
        note(
          `${def.text} (${def.icd10}): LDL ${ldl} mg/dL above goal on simvastatin.`,
          'Switch to atorvastatin 20 mg daily.',
        );
      } else note(`${def.text} (${def.icd10}): LDL ${ldl} mg/dL.`);
      return;
    }
    case 'hypothyroidism': {
      const tsh = facts.labs.get('tsh');
      if (tsh !== undefined) note(`${def.text} (${def.icd10}): TSH ${tsh} mIU/L on levothyroxine.`);
      return;
    }
    case 'kneeOsteoarthritis':
      if (!s.referred.includes('orthopedics') && s.rng.chance(0.12)) {
        note(`${def.text} (${def.icd10}): persistent pain despite therapy.`, 'Referral to orthopedics.');
        refer(
          s,
          'orthopedics',
          problem,
          'Knee osteoarthritis limiting walking despite PT and analgesics. Please evaluate for injection or surgery.',
        );
      } else note(`${def.text} (${def.icd10}): stable.`);
      return;
    default:
      note(`${def.text} (${def.icd10}): stable.`);
  }
}

/** Renews chronic prescriptions written 11 or more months ago (the old order completes). */
export function renewDue(s: ChartState): void {
  const v = currentVisit(s);
  for (const c of s.meds.chronicInForce()) {
    if (dayNumber(v.date) - dayNumber(c.date) < 330) continue;
    s.meds.end(c, v.date, 'completed');
    s.meds.start({
      key: c.def.key,
      doseFactor: c.doseFactor,
      id: s.chart.id('med'),
      date: v.date,
      minutes: v.start + 12,
      encounterId: currentEncounterId(s),
      requester: v.provider,
      reasonConditionId: c.reasonConditionId,
      reasonText: c.reasonText,
      priorId: c.id,
    });
  }
}
