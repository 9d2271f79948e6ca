/**
 * A deliberately simple model of one patient's body over time, so that the numbers on the chart
 * tell a coherent story: HbA1c creeps up before a diabetes diagnosis and falls once metformin
 * starts, blood pressure answers to each added drug, LDL drops on a statin, creatinine rises slowly
 * in kidney disease, children grow. Each latent level moves towards a target set by the patient's
 * problems and medications (exponential approach), and each measurement adds lab-like noise.
 */
import { ageOn, yearsBetween } from './calendar.ts';
import { LABS, type ChronicKey, type LabKey } from './clinicalCatalog.ts';
import { round } from './elements.ts';
import type { PatientProfile } from './patients.ts';
import type { Random } from './random.ts';

/** Piecewise-linear lookup over [x, y] points sorted by x. */
function interpolate(points: readonly (readonly [number, number])[], x: number): number {
  if (x <= points[0][0]) return points[0][1];
  for (let i = 1; i < points.length; i++) {
    const [x1, y1] = points[i];
    if (x <= x1) {
      const [x0, y0] = points[i - 1];
      return y0 + ((y1 - y0) * (x - x0)) / (x1 - x0);
    }
  }
  return points[points.length - 1][1];
}

// CDC growth-chart medians (cm) and BMI medians, rounded.
// prettier-ignore
const HEIGHT_MALE = [
  [0, 50], [0.5, 68], [1, 76], [1.5, 82], [2, 87], [3, 96], [4, 103], [5, 110], [6, 116],
  [8, 128], [10, 138], [12, 149], [13, 156], [14, 164], [15, 170], [16, 173], [17, 175], [18, 176],
] as const;
// prettier-ignore
const HEIGHT_FEMALE = [
  [0, 49], [0.5, 66], [1, 74], [1.5, 80.5], [2, 86], [3, 95], [4, 102], [5, 109], [6, 115],
  [8, 127], [10, 138], [12, 151], [13, 157], [14, 160], [15, 162], [16, 163], [18, 163],
] as const;
// prettier-ignore
const BMI_MEDIAN = [
  [0, 13.3], [0.5, 17.2], [1, 17.2], [2, 16.3], [3, 15.8], [5, 15.3], [6, 15.3], [8, 15.8], [10, 16.7],
  [12, 17.9], [14, 19.2], [16, 20.4], [18, 21.5], [20, 22],
] as const;
// prettier-ignore
const HEART_RATE = [[0, 130], [1, 115], [3, 100], [6, 90], [10, 82], [16, 74]] as const;
// prettier-ignore
const RESPIRATORY_RATE = [[0, 36], [1, 28], [3, 24], [6, 20], [12, 17], [18, 16]] as const;

export interface Vitals {
  systolic: number;
  diastolic: number;
  heartRate: number;
  respiratoryRate: number;
  temperature: number;
  oxygenSaturation: number;
  weight: number;
  height: number;
  bmi: number;
}

interface Levels {
  a1c: number;
  sbp: number;
  dbp: number;
  ldl: number;
  creatinine: number;
  tsh: number;
  bmiDrift: number;
}

export class Physiology {
  private readonly p: PatientProfile;
  private readonly rng: Random;
  private readonly onset = new Map<ChronicKey, string>();
  /** Person-level constants drawn once. */
  private readonly person: Record<string, number>;
  private levels?: Levels;
  private lastDate = '';
  /** HbA1c the patient reaches at diagnosis if diabetic. */
  private readonly a1cAtOnset: number;

  constructor(profile: PatientProfile, rng: Random) {
    this.p = profile;
    this.rng = rng;
    for (const c of profile.chronic) this.onset.set(c.def.key, c.onset);
    this.a1cAtOnset = rng.clampedNormal(8.2, 0.8, 6.8, 10.5);
    this.person = {
      a1c: rng.clampedNormal(5.2, 0.22, 4.6, 5.6),
      sbp: rng.normal(0, 6),
      dbp: rng.normal(0, 4),
      htnSystolic: rng.clampedNormal(151, 7, 140, 175),
      htnDiastolic: rng.clampedNormal(93, 4, 84, 105),
      ldl: rng.clampedNormal(108, 18, 65, 140),
      ldlHigh: rng.clampedNormal(168, 16, 145, 210),
      hdl: rng.clampedNormal(profile.female ? 58 : 47, 8, 32, 85),
      tg: rng.clampedNormal(115, 30, 50, 190),
      creatinine: rng.clampedNormal(profile.female ? 0.74 : 0.94, 0.09, 0.55, 1.15),
      tsh: Math.exp(rng.normal(Math.log(1.8), 0.3)),
      tshHigh: rng.real(7.5, 14),
      hemoglobin: rng.normal(profile.female ? 13.5 : 15.0, 0.6),
      wbc: rng.clampedNormal(6.7, 1.2, 4.2, 9.8),
      platelets: rng.clampedNormal(245, 40, 165, 380),
      heartRate: rng.normal(0, 6),
      sodium: rng.normal(140, 1.2),
    };
  }

  private since(key: ChronicKey, date: string): number | undefined {
    const onset = this.onset.get(key);
    return onset === undefined ? undefined : yearsBetween(onset, date);
  }

  /** Years since onset, or 0 when the problem has not begun by `date`. */
  private active(key: ChronicKey, date: string): number | false {
    const years = this.since(key, date);
    return years !== undefined && years >= 0 ? years : false;
  }

  private targets(date: string, meds: ReadonlySet<string>): Levels {
    const age = yearsBetween(this.p.birthDate, date);
    const ramp = (key: ChronicKey, years: number) => {
      // 0 three years before onset, 1 at onset: problems develop, they do not switch on.
      const s = this.since(key, date);
      return s === undefined ? 0 : Math.min(1, Math.max(0, 1 + s / years));
    };

    // HbA1c: a prediabetic creep in the years before diabetes (staying under the 6.5% diagnostic
    // line), then the diabetic level with slow progression, minus treatment.
    let a1c = this.person.a1c + (this.onset.has('prediabetes') ? 0.8 * ramp('prediabetes', 3) : 0);
    const dm = this.active('diabetes', date);
    if (dm === false && this.onset.has('diabetes')) a1c += Math.max(0, 6.2 - a1c) * ramp('diabetes', 3);
    if (dm !== false) {
      a1c = this.a1cAtOnset + 0.12 * dm;
      if (meds.has('metforminEr500')) a1c -= 1.2;
      if (meds.has('metforminEr500*2')) a1c -= 0.5;
    }

    // Blood pressure rises with age; hypertension adds on, each drug takes some off.
    const adult = Math.max(0, age - 30);
    let sbp = age < 18 ? 92 + 1.4 * Math.min(age, 17) : 114 + 0.35 * adult;
    let dbp = age < 18 ? 55 + 1.0 * Math.min(age, 17) : 71 + 0.12 * adult;
    const htn = ramp('hypertension', 3);
    sbp += htn * (this.person.htnSystolic - sbp);
    dbp += htn * (this.person.htnDiastolic - dbp);
    // Average office-BP reductions of standard doses (lisinopril 20 mg is the 10 mg effect plus a bit).
    const drugEffect: Partial<Record<string, [number, number]>> = {
      lisinopril10: [12, 7],
      lisinopril20: [16, 9],
      amlodipine5: [11, 6],
      hydrochlorothiazide25: [9, 4],
      metoprololEr100: [6, 4],
    };
    for (const m of meds) {
      const e = drugEffect[m];
      if (e) {
        sbp -= e[0];
        dbp -= e[1];
      }
    }
    sbp += this.person.sbp;
    dbp += this.person.dbp;

    let ldl = this.person.ldl + (this.person.ldlHigh - this.person.ldl) * ramp('hyperlipidemia', 4);
    if (meds.has('atorvastatin20')) ldl *= 0.57;
    else if (meds.has('simvastatin20')) ldl *= 0.65;

    let creatinine = this.person.creatinine + 0.004 * Math.max(0, age - 40);
    const ckd = this.active('ckd3', date);
    creatinine +=
      ramp('ckd3', 2) * ((this.p.female ? 1.22 : 1.45) - creatinine) + (ckd === false ? 0 : 0.035 * ckd);
    if (meds.has('lisinopril10') || meds.has('lisinopril20')) creatinine += 0.05;

    let tsh = this.person.tsh + ramp('hypothyroidism', 2) * (this.person.tshHigh - this.person.tsh);
    if (meds.has('levothyroxine75')) tsh = Math.min(tsh, 2.1);

    return { a1c, sbp, dbp, ldl, creatinine, tsh, bmiDrift: 0 };
  }

  /** Moves the latent levels forward to `date` under the treatment in force since the last call. */
  advance(date: string, meds: ReadonlySet<string>): void {
    const target = this.targets(date, meds);
    if (!this.levels) {
      this.levels = target;
      this.lastDate = date;
      return;
    }
    const dt = Math.max(0, yearsBetween(this.lastDate, date));
    const approach = (tau: number) => 1 - Math.exp(-dt / tau);
    const l = this.levels;
    l.a1c += (target.a1c - l.a1c) * approach(0.3);
    l.sbp += (target.sbp - l.sbp) * approach(0.08);
    l.dbp += (target.dbp - l.dbp) * approach(0.08);
    l.ldl += (target.ldl - l.ldl) * approach(0.12);
    l.creatinine += (target.creatinine - l.creatinine) * approach(0.2);
    l.tsh += (target.tsh - l.tsh) * approach(0.15);
    // Adult weight wanders a little from year to year.
    l.bmiDrift = Math.max(-3, Math.min(3, l.bmiDrift + this.rng.normal(0, 0.5) * Math.sqrt(dt)));
    this.lastDate = date;
  }

  private get l(): Levels {
    if (!this.levels) throw new Error('Physiology.advance() must run before a measurement');
    return this.levels;
  }

  /** Height in cm on a date (children follow their growth percentile). */
  height(date: string): number {
    const age = yearsBetween(this.p.birthDate, date);
    const curve = this.p.female ? HEIGHT_FEMALE : HEIGHT_MALE;
    const sd = this.p.female ? 6.5 : 7;
    if (age >= 18) return (this.p.female ? 163 : 176) + this.p.heightZ * sd;
    return interpolate(curve, age) * (1 + this.p.heightZ * 0.038);
  }

  private bmi(date: string, meds: ReadonlySet<string>): number {
    const age = yearsBetween(this.p.birthDate, date);
    if (age >= 20) return this.p.bmi + this.l.bmiDrift - (meds.has('metforminEr500') ? 0.4 : 0);
    // Children: median BMI for age, scaled by how heavy the adult will be; blend in the drift.
    const scale = 0.82 + 0.18 * (this.p.bmi / 25);
    return interpolate(BMI_MEDIAN, age) * scale + (age > 12 ? this.l.bmiDrift * 0.5 : 0);
  }

  vitals(date: string, meds: ReadonlySet<string>, febrile: boolean): Vitals {
    const rng = this.rng;
    const age = yearsBetween(this.p.birthDate, date);
    const height = this.height(date) + rng.normal(0, age < 2 ? 0.6 : 0.4);
    const bmi = this.bmi(date, meds);
    const weight = bmi * (height / 100) ** 2 * (1 + rng.normal(0, 0.006));
    const fever = febrile ? rng.real(38.0, 39.1) : 0;
    let heartRate = interpolate(HEART_RATE, age) + this.person.heartRate + rng.normal(0, 5);
    if (meds.has('metoprololEr100')) heartRate -= 12;
    if (fever) heartRate += 10 * (fever - 37);
    const copd = this.active('copd', date) !== false;
    return {
      systolic: Math.round(this.l.sbp + rng.normal(0, 6.5)),
      diastolic: Math.round(this.l.dbp + rng.normal(0, 4.5)),
      heartRate: Math.round(heartRate),
      respiratoryRate: Math.round(interpolate(RESPIRATORY_RATE, age) + rng.normal(0, 1.5) + (fever ? 2 : 0)),
      temperature: round(fever || rng.clampedNormal(36.8, 0.22, 36.1, 37.5), 1),
      oxygenSaturation: Math.round(copd ? rng.real(91.5, 95.4) : rng.real(96.5, 99.4)),
      weight: round(weight, 1),
      height: round(height, 1),
      bmi: round(weight / (height / 100) ** 2, 1),
    };
  }

  /** Measured lab values for the requested tests, rounded as a lab would report them. */
  labs(
    date: string,
    tests: readonly LabKey[],
    meds: ReadonlySet<string>,
    infection: boolean,
  ): Map<LabKey, number> {
    const rng = this.rng;
    const l = this.l;
    const age = ageOn(this.p.birthDate, date);
    const ckd = this.active('ckd3', date) !== false;
    const onLisinopril = meds.has('lisinopril10') || meds.has('lisinopril20');
    const onThiazide = meds.has('hydrochlorothiazide25');
    const dm = this.active('diabetes', date) !== false;
    const obese = this.onset.has('obesity');

    const a1c = l.a1c + rng.normal(0, 0.15);
    const creatinine = Math.max(0.4, l.creatinine * (1 + rng.normal(0, 0.05)));
    const hdl = this.person.hdl - (dm ? 4 : 0) - (obese ? 4 : 0) + rng.normal(0, 3);
    const tg = this.person.tg + (dm ? 45 : 0) + (obese ? 25 : 0) + rng.normal(0, 18);
    const ldl = l.ldl * (1 + rng.normal(0, 0.06));

    const values: Record<LabKey, () => number> = {
      a1c: () => a1c,
      glucose: () =>
        (a1c > 6.2 ? 28.7 * a1c - 56 : 86 + (a1c - 5.2) * 18) + rng.normal(0, a1c > 6.2 ? 14 : 6),
      bun: () => 8 + creatinine * 9 + rng.normal(0, 2),
      creatinine: () => creatinine,
      egfr: () => Math.min(120, ckdEpi2021(round(creatinine, 2), age, this.p.female)),
      sodium: () => this.person.sodium - (onThiazide ? 1.5 : 0) + rng.normal(0, 1.3),
      potassium: () =>
        4.2 + (onLisinopril ? 0.15 : 0) + (ckd ? 0.3 : 0) - (onThiazide ? 0.3 : 0) + rng.normal(0, 0.22),
      cholesterol: () => ldl + hdl + tg / 5,
      hdl: () => hdl,
      triglycerides: () => tg,
      ldl: () => ldl,
      hemoglobin: () => this.person.hemoglobin - (ckd ? 1.1 : 0) + rng.normal(0, 0.35),
      wbc: () => this.person.wbc + (infection ? rng.real(2, 5) : 0) + rng.normal(0, 0.6),
      platelets: () => this.person.platelets + rng.normal(0, 14),
      tsh: () => Math.max(0.05, l.tsh * Math.exp(rng.normal(0, 0.12))),
    };
    const out = new Map<LabKey, number>();
    for (const t of tests) out.set(t, round(values[t](), LABS[t].decimals));
    return out;
  }
}

/** The 2021 race-free CKD-EPI creatinine equation (mL/min/1.73 m²). */
export function ckdEpi2021(creatinine: number, age: number, female: boolean): number {
  const kappa = female ? 0.7 : 0.9;
  const alpha = female ? -0.241 : -0.302;
  const ratio = creatinine / kappa;
  const egfr =
    142 * Math.min(ratio, 1) ** alpha * Math.max(ratio, 1) ** -1.2 * 0.9938 ** age * (female ? 1.012 : 1);
  return Math.round(egfr);
}
