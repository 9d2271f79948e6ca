/**
 * Vitals and labs at a visit: which panels are due (screening at physicals, monitoring of each
 * chronic problem at its usual interval, the tests that make a new diagnosis), and the Observation
 * and DiagnosticReport resources with LOINC codes, UCUM units, reference ranges and H/L/N flags.
 */
import { addDays, dayNumber } from './calendar.ts';
import {
  LABS,
  PANELS,
  VITALS,
  type ChronicKey,
  type LabKey,
  type PanelKey,
  type VitalDef,
} from './clinicalCatalog.ts';
import { currentVisit, type ChartState } from './chart.ts';
import { at } from './context.ts';
import { concept, quantity, ref, SYSTEMS } from './elements.ts';
import { labText } from './notes.ts';
import { patientRef } from './patients.ts';
import type { Vitals } from './physiology.ts';

const monthsBetween = (from: string, to: string) => (dayNumber(to) - dayNumber(from)) / 30.44;

/** The panels to draw at the current visit (adults). */
export function duePanels(s: ChartState, age: number, newProblems: ChronicKey[]): PanelKey[] {
  const v = currentVisit(s);
  const out = new Set<PanelKey>();
  const dx = (k: ChronicKey) => s.conditions.has(k);
  const due = (p: PanelKey, months: number) => {
    const last = s.lastPanel.get(p);
    return last === undefined || monthsBetween(last, v.date) >= months;
  };
  if (v.kind === 'wellness') {
    if (age >= 40 || dx('hypertension') || dx('diabetes') || dx('ckd3')) out.add('bmp');
    const lipidRisk = dx('hyperlipidemia') || dx('diabetes');
    if ((age >= 40 || lipidRisk) && (lipidRisk || due('lipid', 36))) out.add('lipid');
    if (!dx('diabetes') && (age >= 45 || dx('obesity') || dx('prediabetes')) && due('a1c', 11))
      out.add('a1c');
    if (s.rng.chance(0.4)) out.add('cbc');
    if (s.profile.female && age >= 50 && due('tsh', 36) && s.rng.chance(0.3)) out.add('tsh');
  }
  if (v.kind === 'wellness' || v.kind === 'followUp') {
    if (dx('diabetes') && due('a1c', 2.5)) out.add('a1c');
    if (dx('diabetes') && due('bmp', 5)) out.add('bmp');
    if (dx('diabetes') && due('lipid', 11)) out.add('lipid');
    if (dx('hypertension') && due('bmp', 5)) out.add('bmp');
    if (dx('hyperlipidemia') && due('lipid', 5)) out.add('lipid');
    if (dx('hypothyroidism') && due('tsh', 5)) out.add('tsh');
    if (dx('ckd3') && due('bmp', 5)) out.add('bmp');
    if (dx('ckd3') && due('cbc', 11)) out.add('cbc');
  }
  // Symptoms of diabetes (thirst, weight loss) lead to an HbA1c until it is diagnosed.
  const dm = s.profile.chronic.find((c) => c.def.key === 'diabetes');
  if (dm && dm.onset <= v.date && !dx('diabetes')) out.add('a1c');
  const forDiagnosis: Partial<Record<ChronicKey, PanelKey[]>> = {
    prediabetes: ['a1c'],
    hypertension: ['bmp'],
    hyperlipidemia: ['lipid'],
    hypothyroidism: ['tsh'],
    ckd3: ['bmp', 'cbc'],
  };
  for (const k of newProblems) for (const p of forDiagnosis[k] ?? []) out.add(p);
  return (['a1c', 'bmp', 'lipid', 'cbc', 'tsh'] as PanelKey[]).filter((p) => out.has(p));
}

export interface ShownVitals {
  bloodPressure: boolean;
  respiratory: boolean;
  height: boolean;
}

/** Vital-sign Observations, taken by the medical assistant at rooming. */
export function recordVitals(
  s: ChartState,
  encounterId: string,
  vt: Vitals,
  age: number,
  shown: ShownVitals,
): void {
  const v = currentVisit(s);
  const ma = s.practice.staff.medicalAssistant;
  const when = at(s.ctx, v.date, v.start + 4);
  const base = (def: VitalDef) => ({
    resourceType: 'Observation',
    id: s.chart.id('obs'),
    status: 'final',
    category: [concept(SYSTEMS.obsCategory, 'vital-signs', 'Vital Signs')],
    code: concept(SYSTEMS.loinc, def.loinc, def.display, def.display),
    subject: patientRef(s.profile),
    encounter: ref('Encounter', encounterId),
    effectiveDateTime: when,
    performer: [ref('Practitioner', ma.practitionerId, ma.title)],
  });
  const value = (def: VitalDef, x: number) =>
    s.chart.add({ ...base(def), valueQuantity: quantity(x, def.unit, def.ucum) });
  if (shown.bloodPressure) {
    s.chart.add({
      ...base(VITALS.bloodPressure),
      component: [
        {
          code: concept(SYSTEMS.loinc, VITALS.systolic.loinc, VITALS.systolic.display),
          valueQuantity: quantity(vt.systolic, 'mmHg', 'mm[Hg]'),
        },
        {
          code: concept(SYSTEMS.loinc, VITALS.diastolic.loinc, VITALS.diastolic.display),
          valueQuantity: quantity(vt.diastolic, 'mmHg', 'mm[Hg]'),
        },
      ],
    });
  }
  value(VITALS.heartRate, vt.heartRate);
  value(VITALS.temperature, vt.temperature);
  if (shown.respiratory) {
    value(VITALS.respiratoryRate, vt.respiratoryRate);
    value(VITALS.oxygenSaturation, vt.oxygenSaturation);
  }
  value(VITALS.weight, vt.weight);
  if (shown.height) value(VITALS.height, vt.height);
  if (age >= 2) value(VITALS.bmi, vt.bmi);
}

const outOfRange = (x: number, r: { low?: number; high?: number }) =>
  r.high !== undefined && x > r.high ? 'H' : r.low !== undefined && x < r.low ? 'L' : 'N';

/** Draws the panels at the current visit: one Observation per test, one DiagnosticReport per panel. */
export function recordLabs(s: ChartState, encounterId: string, panels: PanelKey[]): Map<LabKey, number> {
  const v = currentVisit(s);
  const drawn = at(s.ctx, v.date, v.start + v.minutes);
  // Results come back from the reference lab the next morning.
  const issued = at(s.ctx, addDays(v.date, 1), 7 * 60 + 30);
  const tests = [...new Set(panels.flatMap((p) => PANELS[p].tests))];
  const infection = v.acute?.key === 'strep' || v.acute?.key === 'sinusitis';
  const values = s.body.labs(v.date, tests, s.meds.inForce(), infection);
  const lab = ref('Organization', s.practice.labOrganizationId, 'Meridian Clinical Laboratory');
  const subject = patientRef(s.profile);
  const ids = new Map<LabKey, string>();
  for (const t of tests) {
    const def = LABS[t];
    const x = values.get(t) as number;
    const range = def.range(s.profile.female);
    const flag = outOfRange(x, range);
    const id = s.chart.id('obs');
    ids.set(t, id);
    s.chart.add({
      resourceType: 'Observation',
      id,
      status: 'final',
      category: [concept(SYSTEMS.obsCategory, 'laboratory', 'Laboratory')],
      code: concept(SYSTEMS.loinc, def.loinc, def.display, def.short),
      subject,
      encounter: ref('Encounter', encounterId),
      effectiveDateTime: drawn,
      issued,
      performer: [lab],
      valueQuantity: quantity(x, def.unit, def.ucum),
      interpretation: [
        concept(SYSTEMS.v3Interpretation, flag, flag === 'H' ? 'High' : flag === 'L' ? 'Low' : 'Normal'),
      ],
      referenceRange: [
        {
          ...(range.low !== undefined ? { low: quantity(range.low, def.unit, def.ucum) } : {}),
          ...(range.high !== undefined ? { high: quantity(range.high, def.unit, def.ucum) } : {}),
          ...(t === 'egfr' ? { text: '>59 mL/min/1.73m2' } : {}),
        },
      ],
    });
  }
  const shown = (t: LabKey) => labText(LABS[t].short, values.get(t) as number, LABS[t].unit);
  for (const p of panels) {
    const def = PANELS[p];
    const abnormal = def.tests.filter(
      (t) => outOfRange(values.get(t) as number, LABS[t].range(s.profile.female)) !== 'N',
    );
    s.chart.add({
      resourceType: 'DiagnosticReport',
      id: s.chart.id('rpt'),
      status: 'final',
      category: [
        concept(SYSTEMS.v2DiagnosticSection, def.section, def.section === 'CH' ? 'Chemistry' : 'Hematology'),
      ],
      code: concept(SYSTEMS.loinc, def.loinc, def.display),
      subject,
      encounter: ref('Encounter', encounterId),
      effectiveDateTime: drawn,
      issued,
      performer: [lab],
      resultsInterpreter: [ref('Practitioner', v.provider.practitionerId, v.provider.title)],
      result: def.tests.map((t) => ref('Observation', ids.get(t) as string, LABS[t].short)),
      conclusion: abnormal.length
        ? `Abnormal: ${abnormal.map(shown).join(', ')}.`
        : 'All results within reference range.',
    });
  }
  s.note.objective.push(`Labs: ${tests.map(shown).join(', ')}.`);
  return values;
}
