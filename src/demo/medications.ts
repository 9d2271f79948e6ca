/**
 * A patient's prescriptions over time. Each change is a new MedicationRequest, as in an EHR:
 * starting a drug, changing its dose (the old order `stopped`), renewing it for another year (the
 * old order `completed`, the new one pointing back with priorPrescription). Acute courses finish
 * on their own once their days' supply has run out.
 */
import type { Resource } from '../fhir/types.ts';
import { addDays } from './calendar.ts';
import { MEDICATIONS, type MedicationDef, type MedicationKey } from './clinicalCatalog.ts';
import { at, type DemoContext } from './context.ts';
import { concept, coding, quantity, ref, SYSTEMS } from './elements.ts';
import { patientRef, type PatientProfile } from './patients.ts';
import type { Provider } from './visits.ts';

export interface Course {
  id: string;
  def: MedicationDef;
  /** Tablets per dose relative to the catalogue sig (2 = the dose was doubled). */
  doseFactor: number;
  acute: boolean;
  date: string;
  minutes: number;
  encounterId: string;
  requester: Provider;
  reasonConditionId?: string;
  reasonText?: string;
  priorId?: string;
  endDate?: string;
  endStatus?: 'completed' | 'stopped';
  statusReason?: string;
  /** `continued from previous provider` on the first visit. */
  continued?: boolean;
}

export class MedicationList {
  readonly courses: Course[] = [];

  /** The running (not ended) chronic course of a drug, if any. */
  active(key: MedicationKey): Course | undefined {
    return this.courses.find((c) => c.def.key === key && !c.endDate && !c.acute);
  }

  isOn(...keys: MedicationKey[]): boolean {
    return keys.some((k) => this.active(k) !== undefined);
  }

  /** What the body model sees: chronic drugs in force, `key*2` for doubled doses. */
  inForce(): Set<string> {
    const out = new Set<string>();
    for (const c of this.courses) {
      if (c.endDate || c.acute) continue;
      out.add(c.def.key);
      if (c.doseFactor > 1) out.add(`${c.def.key}*${c.doseFactor}`);
    }
    return out;
  }

  chronicInForce(): Course[] {
    return this.courses.filter((c) => !c.endDate && !c.acute);
  }

  start(
    course: Omit<Course, 'def' | 'doseFactor' | 'acute'> & {
      key: MedicationKey;
      doseFactor?: number;
      acute?: boolean;
    },
  ): Course {
    const { key, ...rest } = course;
    const c: Course = { def: MEDICATIONS[key], doseFactor: 1, acute: false, ...rest };
    if (c.acute) c.endDate = addDays(c.date, c.def.supplyDays);
    this.courses.push(c);
    return c;
  }

  end(course: Course, date: string, status: 'completed' | 'stopped', reason?: string): void {
    course.endDate = date;
    course.endStatus = status;
    if (reason) course.statusReason = reason;
  }
}

const FORMS = {
  tablet: { unit: 'tablet', code: '{tbl}' },
  capsule: { unit: 'capsule', code: '{cap}' },
  puff: { unit: 'puff', code: '{puff}' },
};

function sig(c: Course): string {
  if (c.doseFactor === 1) return c.def.sig;
  const strength = c.def.name.replace(/^.*?(\d[\d.,]*)\s*(mg|mcg).*$/, '$1');
  return c.def.sig.replace(
    /^Take 1 tablet/,
    `Take ${c.doseFactor} tablets (${Number(strength) * c.doseFactor} mg)`,
  );
}

export function medicationRequest(ctx: DemoContext, profile: PatientProfile, c: Course): Resource {
  const d = c.def;
  const form = FORMS[d.form];
  const authored = at(ctx, c.date, c.minutes);
  const status = c.acute
    ? c.endDate && c.endDate < ctx.today
      ? 'completed'
      : 'active'
    : (c.endStatus ?? 'active');
  const supplyDays = d.supplyDays;
  const perFill = d.form === 'puff' ? d.quantity : d.quantity * c.doseFactor;
  return {
    resourceType: 'MedicationRequest',
    id: c.id,
    status,
    ...(c.statusReason ? { statusReason: { text: c.statusReason } } : {}),
    intent: 'order',
    category: [concept(SYSTEMS.medRequestCategory, 'community', 'Community')],
    medicationCodeableConcept: { coding: [coding(SYSTEMS.rxnorm, d.rxnorm, d.display)], text: d.name },
    subject: patientRef(profile),
    encounter: ref('Encounter', c.encounterId),
    authoredOn: authored,
    requester: ref('Practitioner', c.requester.practitionerId, c.requester.title),
    ...(c.reasonConditionId
      ? { reasonReference: [ref('Condition', c.reasonConditionId, c.reasonText)] }
      : {}),
    ...(c.priorId ? { priorPrescription: ref('MedicationRequest', c.priorId) } : {}),
    ...(c.continued
      ? { note: [{ text: 'Continued from previous provider; medication reconciled at first visit.' }] }
      : {}),
    dosageInstruction: [
      {
        sequence: 1,
        text: sig(c),
        timing: { repeat: { frequency: d.frequency, period: d.period, periodUnit: d.periodUnit } },
        ...(d.asNeeded ? { asNeededBoolean: true } : {}),
        route:
          d.route === 'oral'
            ? concept(SYSTEMS.snomed, '26643006', 'Oral route')
            : concept(SYSTEMS.snomed, '447694001', 'Respiratory tract route (qualifier value)'),
        doseAndRate: [{ doseQuantity: quantity(d.dose * c.doseFactor, form.unit, form.code) }],
      },
    ],
    dispenseRequest: {
      validityPeriod: { start: c.date, end: addDays(c.date, 365) },
      numberOfRepeatsAllowed: d.refills,
      quantity:
        d.form === 'puff'
          ? quantity(perFill, 'inhaler', '{inhaler}')
          : quantity(perFill, form.unit, form.code),
      expectedSupplyDuration: quantity(supplyDays, 'days', 'd'),
    },
  };
}
