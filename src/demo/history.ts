/**
 * One patient's chart over the years. Visits are walked in order; at each one the generator does
 * what the clinician would: record the problem list and allergies at the first visit, take vitals,
 * diagnose what has begun since the last visit, order the labs that are due, start or adjust
 * treatment from today's numbers, give due vaccines, refer out, and write the note. Because every
 * value comes from the same body model (physiology.ts), trends, interpretations and notes agree.
 */
import type { Resource } from '../fhir/types.ts';
import { addDays, ageOn } from './calendar.ts';
import { advanceDirective, careTeam } from './carePlanning.ts';
import {
  Chart,
  currentVisit,
  diagnose,
  prescribe,
  recordAllergy,
  recordCondition,
  refer,
  type ChartState,
  type VisitFacts,
} from './chart.ts';
import {
  CHRONIC,
  DOCUMENT_TYPES,
  ENCOUNTER_TYPES,
  NO_KNOWN_ALLERGY,
  PANELS,
  type ChronicKey,
} from './clinicalCatalog.ts';
import { at, type DemoContext } from './context.ts';
import { base64, coding, concept, quantity, ref, SYSTEMS } from './elements.ts';
import { immunizationResource, VaccinationPlan } from './immunizations.ts';
import { medicationRequest, MedicationList } from './medications.ts';
import { emptyBody, phrase, soapNote, vitalsLine } from './notes.ts';
import { duePanels, recordLabs, recordVitals } from './observations.ts';
import { patientRef, type PatientProfile } from './patients.ts';
import { Physiology } from './physiology.ts';
import { practiceRef, type Practice } from './practice.ts';
import { ageLabel, PAST_DAYS } from './schedule.ts';
import {
  counseling,
  manage,
  maybeRequestReview,
  referOnDiagnosis,
  renewDue,
  startTherapy,
} from './treatment.ts';
import { byTime, historicalVisits, type Visit } from './visits.ts';

export function buildChart(
  ctx: DemoContext,
  practice: Practice,
  profile: PatientProfile,
  booked: Visit[],
): Resource[] {
  const s: ChartState = {
    ctx,
    practice,
    profile,
    chart: new Chart(profile),
    rng: profile.rng.fork('chart'),
    body: new Physiology(profile, profile.rng.fork('body')),
    meds: new MedicationList(),
    conditions: new Map(),
    lastPanel: new Map(),
    referred: [],
    intolerances: new Set(),
    bloodPressures: [],
    encounters: [],
    note: emptyBody(),
  };
  const vaccines = new VaccinationPlan(ctx, profile, profile.rng.fork('vaccines'));
  const visits = [...historicalVisits(practice, profile, addDays(ctx.today, -PAST_DAYS)), ...booked].sort(
    byTime,
  );

  for (const [index, v] of visits.entries()) {
    const encounterId = s.chart.id('enc');
    s.encounters.push({ visit: v, id: encounterId });
    s.note = emptyBody();
    s.chart.add(encounterResource(ctx, practice, profile, v, encounterId));
    const facts: VisitFacts = { labs: new Map(), panels: [], labsPending: false };
    const age = ageOn(profile.birthDate, v.date);
    const clinicianVisit = v.kind !== 'nurseVaccine';

    // 1. The first visit opens the chart: allergies, known problems, medications brought along.
    if (index === 0) {
      recordAllergies(s);
      for (const c of profile.chronic.filter((p) => p.onset <= v.date)) {
        diagnose(s, c.def, c.onset);
        const started = startTherapy(s, c.def.key, true);
        if (started.length)
          s.note.plan.push(`Continue ${started.join(', ')} (reconciled from previous records).`);
      }
    }
    s.body.advance(v.date, s.meds.inForce());

    // 2. Vitals, and why they came.
    if (clinicianVisit) {
      const febrile =
        v.acute?.winter === true &&
        s.rng.chance(v.acute.key === 'strep' || v.acute.key === 'otitis' ? 0.8 : 0.4);
      const vitals = s.body.vitals(v.date, s.meds.inForce(), febrile);
      const shown = {
        bloodPressure: age >= 3,
        // Respiratory rate and pulse oximetry belong to sick visits (and lung disease).
        respiratory: Boolean(v.acute) || s.conditions.has('copd') || s.conditions.has('asthma'),
        height: v.kind === 'wellness' || v.kind === 'wellChild' || age < 18 || index === 0,
      };
      facts.vitals = vitals;
      if (shown.bloodPressure)
        s.bloodPressures.push({ systolic: vitals.systolic, diastolic: vitals.diastolic });
      recordVitals(s, encounterId, vitals, age, shown);
      s.note.objective.push(vitalsLine(vitals, shown), v.acute ? v.acute.exam : phrase.normalExam(s.rng));
    } else {
      const temperature = s.body.vitals(v.date, s.meds.inForce(), false).temperature;
      s.note.objective.push(`Temp ${temperature.toFixed(1)} °C. Afebrile, well-appearing.`);
    }
    s.note.subjective.push(reasonForVisit(s, v, index));

    // 3. Same-day illness: diagnosis and treatment.
    if (v.acute) {
      const a = v.acute;
      const onset = addDays(v.date, -s.rng.int(1, 4));
      const problem = {
        id: recordCondition(s, a.diagnosis, {
          chronic: false,
          onset,
          abatement: addDays(v.date, a.resolvesInDays),
        }),
        text: a.diagnosis.text,
      };
      s.note.assessment.push(`${a.diagnosis.text} (${a.diagnosis.icd10}).`);
      if (a.medication) {
        const course = prescribe(s, a.medication, problem, { acute: true });
        s.note.plan.push(`Start ${course.def.name}: ${course.def.sig}`);
      }
      s.note.plan.push(a.plan);
      if (a.key === 'lowBackPain' && s.rng.chance(0.15)) {
        refer(
          s,
          'physicalTherapy',
          problem,
          'Acute low back pain, slow to improve: please evaluate and treat.',
        );
      }
    }

    // 4. Problems that have begun since the last visit are diagnosed now. Diabetes is diagnosed
    //    by the lab (step 6), not by the calendar.
    const newProblems: ChronicKey[] = [];
    if (clinicianVisit && index > 0) {
      for (const c of profile.chronic) {
        if (s.conditions.has(c.def.key) || c.onset > v.date || c.def.key === 'diabetes') continue;
        newProblems.push(c.def.key);
        diagnose(s, c.def, c.onset);
      }
    }

    // 5. Labs that are due (adults; children's labs are left out of this demo). Results come
    //    back the next morning at 07:30; later than the snapshot they are still pending.
    if (clinicianVisit && age >= 18) {
      facts.panels = duePanels(s, age, newProblems);
      const resultDay = addDays(v.date, 1);
      const resulted = resultDay < ctx.today || (resultDay === ctx.today && ctx.asOfMinutes >= 7 * 60 + 30);
      if (facts.panels.length && !resulted) facts.labsPending = true;
      else if (facts.panels.length) {
        facts.labs = recordLabs(s, encounterId, facts.panels);
        for (const p of facts.panels) s.lastPanel.set(p, v.date);
      }
    }

    // 6. An HbA1c of 6.5% or more makes the diabetes diagnosis; 5.7-6.4% puts prediabetes on the list.
    const a1c = facts.labs.get('a1c');
    if (a1c !== undefined && !s.conditions.has('diabetes')) {
      const dm = profile.chronic.find((c) => c.def.key === 'diabetes');
      if (dm && dm.onset <= v.date && a1c >= 6.5) {
        newProblems.push('diabetes');
        diagnose(s, dm.def, dm.onset);
        resolvePrediabetes(s, v.date);
      } else if (a1c >= 5.7 && !s.conditions.has('prediabetes')) {
        newProblems.push('prediabetes');
        diagnose(s, CHRONIC.prediabetes, v.date);
      }
    }

    // 7. Treatment: start it for new problems, adjust it from today's numbers, renew, refer.
    if (clinicianVisit) {
      for (const key of newProblems) {
        const def = CHRONIC[key];
        const started = startTherapy(s, key, false);
        const measured = key === 'diabetes' && a1c !== undefined ? `, HbA1c ${a1c}%` : '';
        s.note.assessment.push(`New diagnosis: ${def.text} (${def.icd10})${measured}.`);
        s.note.plan.push(started.length ? `Start ${started.join(', ')}.` : counseling(key));
        referOnDiagnosis(s, key, false);
      }
      if (v.kind === 'wellness' || v.kind === 'followUp') {
        if (index === 0) {
          for (const key of s.conditions.keys()) {
            s.note.assessment.push(
              `${CHRONIC[key].text} (${CHRONIC[key].icd10}): established diagnosis, outside records reviewed.`,
            );
            referOnDiagnosis(s, key, true);
          }
        } else {
          const focus = v.kind === 'followUp' ? v.problems : [...s.conditions.keys()];
          for (const key of focus)
            if (!newProblems.includes(key) && s.conditions.has(key)) manage(s, key, facts);
          if (v.appointmentId && v.kind === 'followUp')
            for (const key of v.problems) maybeRequestReview(s, key);
          renewDue(s);
        }
      }
      const current = [...new Set(s.meds.chronicInForce().map((c) => c.def.name))];
      if (index > 0 && v.kind !== 'acute' && current.length)
        s.note.plan.push(`Current medications: ${current.join(', ')}.`);
    }
    if (facts.panels.length) {
      const names = facts.panels.map((p) => PANELS[p].short).join(', ');
      s.note.plan.push(`Labs: ${names}${facts.labsPending ? ' (drawn today, results pending)' : ''}.`);
    }

    // 8. Vaccines: records brought from elsewhere first, then what is given today.
    for (const record of vaccines.takeOutsideRecords(v.date)) {
      s.chart.add(
        immunizationResource(ctx, profile, {
          id: s.chart.id('imm'),
          vaccine: record.vaccine,
          date: record.date,
          minutes: v.start + 5,
          doseNumber: record.doseNumber,
          recordedOn: v.date,
        }),
      );
    }
    const given = vaccines.giveAt(v);
    for (const g of given) {
      s.chart.add(
        immunizationResource(ctx, profile, {
          id: s.chart.id('imm'),
          vaccine: g.vaccine,
          date: v.date,
          minutes: v.start + v.minutes - 5,
          doseNumber: g.doseNumber,
          administered: {
            encounterId,
            performer: clinicianVisit ? practice.staff.nurse : v.provider,
            locationId: v.locationId ?? practice.sites[0].id,
            lot: vaccines.lotNumber(),
          },
        }),
      );
    }
    if (given.length)
      s.note.plan.push(`Vaccines given: ${given.map((g) => g.vaccine.display).join('; ')}. VIS provided.`);

    // 9. When to come back, and the note itself.
    closeNote(s, v);
    writeNote(s, v, encounterId);
  }

  for (const course of s.meds.courses) s.chart.add(medicationRequest(ctx, profile, course));

  // The care team, and for some an advance directive signed at the latest clinician visit.
  s.chart.add(careTeam(practice, profile, s.chart.id('team'), s.referred));
  const directiveVisit = [...s.encounters]
    .reverse()
    .find((e) => e.visit.kind === 'wellness' || e.visit.kind === 'followUp');
  if (profile.advanceDirective && directiveVisit) {
    const { visit } = directiveVisit;
    const resources = advanceDirective(ctx, practice, profile, {
      date: visit.date,
      minutes: visit.start + visit.minutes,
      encounterId: directiveVisit.id,
      ids: { document: s.chart.id('doc'), consent: s.chart.id('consent') },
    });
    for (const r of resources) s.chart.add(r);
  }
  return s.chart.resources;
}

function encounterResource(
  ctx: DemoContext,
  practice: Practice,
  profile: PatientProfile,
  v: Visit,
  id: string,
): Resource {
  const type = ENCOUNTER_TYPES[v.kind];
  const start = at(ctx, v.date, v.start);
  const end = at(ctx, v.date, v.start + v.minutes);
  const site = practice.sites.find((s) => s.id === v.locationId) ?? practice.sites[0];
  const reasonCode = v.acute
    ? [concept(SYSTEMS.snomed, v.acute.complaint.snomed, v.acute.complaint.display, v.acute.booked)]
    : v.kind === 'followUp'
      ? v.problems.map((k) => concept(SYSTEMS.snomed, CHRONIC[k].snomed, CHRONIC[k].display, CHRONIC[k].text))
      : [{ text: type.title }];
  return {
    resourceType: 'Encounter',
    id,
    status: 'finished',
    class: coding(SYSTEMS.v3ActCode, 'AMB', 'ambulatory'),
    type: [concept(SYSTEMS.snomed, type.snomed, type.display, type.title)],
    serviceType:
      v.kind === 'nurseVaccine'
        ? concept(SYSTEMS.serviceType, '57', 'Immunization')
        : concept(SYSTEMS.serviceType, '124', 'General Practice'),
    subject: patientRef(profile),
    participant: [
      {
        type: [concept(SYSTEMS.v3ParticipationType, 'PPRF', 'primary performer')],
        period: { start, end },
        individual: ref('Practitioner', v.provider.practitionerId, v.provider.title),
      },
    ],
    ...(v.appointmentId ? { appointment: [ref('Appointment', v.appointmentId)] } : {}),
    period: { start, end },
    length: quantity(v.minutes, 'min'),
    reasonCode,
    location: [{ location: ref('Location', site.id, site.name), status: 'completed' }],
    serviceProvider: practiceRef(practice),
  };
}

/** Allergies at the first visit, or (for most patients without any) an explicit "no known allergies". */
function recordAllergies(s: ChartState): void {
  const v = currentVisit(s);
  if (s.profile.allergies.length) {
    for (const a of s.profile.allergies) recordAllergy(s, a, 3);
    return;
  }
  if (!s.rng.chance(0.75)) return;
  s.chart.add({
    resourceType: 'AllergyIntolerance',
    id: s.chart.id('alg'),
    clinicalStatus: concept(SYSTEMS.allergyClinical, 'active', 'Active'),
    verificationStatus: concept(SYSTEMS.allergyVerification, 'confirmed', 'Confirmed'),
    code: concept(SYSTEMS.snomed, NO_KNOWN_ALLERGY.snomed, NO_KNOWN_ALLERGY.display, 'No known allergies'),
    patient: patientRef(s.profile),
    recordedDate: at(s.ctx, v.date, v.start + 3),
    recorder: ref('Practitioner', v.provider.practitionerId, v.provider.title),
  });
}

/** Diabetes supersedes prediabetes: the earlier problem is resolved on the day of the diagnosis. */
function resolvePrediabetes(s: ChartState, date: string): void {
  const pre = s.conditions.get('prediabetes');
  if (!pre) return;
  const record = s.chart.resources.find((r) => r.id === pre.id);
  if (record) {
    record.clinicalStatus = concept(SYSTEMS.conditionClinical, 'resolved', 'Resolved');
    record.abatementDateTime = date;
  }
  s.conditions.delete('prediabetes');
}

function reasonForVisit(s: ChartState, v: Visit, index: number): string {
  switch (v.kind) {
    case 'wellness':
      return index === 0
        ? `New patient establishing care. ${phrase.wellAdult(s.rng)}`
        : phrase.wellAdult(s.rng);
    case 'wellChild':
      return `Well-child check at ${ageLabel(s.profile.birthDate, v.date)}. ${phrase.wellChild(s.rng)}`;
    case 'followUp':
      return `Follow-up of ${v.problems.map((k) => CHRONIC[k].text.toLowerCase()).join(' and ')}. ${phrase.adherence(s.rng)}`;
    case 'acute':
      return v.acute?.history ?? 'Same-day concern.';
    default:
      return 'Presents for seasonal influenza vaccination. No fever today, no prior vaccine reactions.';
  }
}

function closeNote(s: ChartState, v: Visit): void {
  const note = s.note;
  if (v.kind === 'followUp' || (v.kind === 'wellness' && s.conditions.size)) {
    const months = Math.min(...[...s.conditions.keys()].map((k) => CHRONIC[k].followUpMonths ?? 12));
    note.plan.push(`Return in ${months} months, sooner if needed.`);
  } else if (v.kind === 'wellness') note.plan.push('Return in 1 year for a physical.');
  if (note.assessment.length) return;
  if (v.kind === 'wellness') note.assessment.push('Routine adult health examination; no acute issues.');
  else if (v.kind === 'wellChild')
    note.assessment.push('Healthy child; growth and development appropriate for age.');
  else if (v.kind === 'nurseVaccine') note.assessment.push('Immunization encounter.');
  else note.assessment.push('Chronic problems stable.');
}

/** The visit note as a DocumentReference with the SOAP text inline (base64). */
function writeNote(s: ChartState, v: Visit, encounterId: string): void {
  const type = v.kind === 'nurseVaccine' ? DOCUMENT_TYPES.nurseNote : DOCUMENT_TYPES.progressNote;
  const title = `${ENCOUNTER_TYPES[v.kind].title}${v.acute ? `: ${v.acute.booked.toLowerCase()}` : ''}`;
  const text = soapNote(
    {
      title: `${type.display} - ${title}`,
      date: v.date,
      minutes: v.start,
      author: v.provider.title,
      patient: s.profile.display,
      age: ageLabel(s.profile.birthDate, v.date),
      sex: s.profile.gender,
      mrn: s.profile.mrn,
    },
    s.note,
  );
  const signed = at(s.ctx, v.date, v.start + v.minutes);
  const author = ref('Practitioner', v.provider.practitionerId, v.provider.title);
  s.chart.add({
    resourceType: 'DocumentReference',
    id: s.chart.id('doc'),
    status: 'current',
    docStatus: 'final',
    type: concept(SYSTEMS.loinc, type.loinc, type.display),
    category: [concept(SYSTEMS.usCoreDocCategory, 'clinical-note', 'Clinical Note')],
    subject: patientRef(s.profile),
    date: signed,
    author: [author],
    authenticator: author,
    custodian: practiceRef(s.practice),
    description: title,
    content: [
      {
        attachment: {
          contentType: 'text/plain',
          language: 'en-US',
          data: base64(text),
          title,
          creation: signed,
        },
      },
    ],
    context: {
      encounter: [ref('Encounter', encounterId)],
      period: { start: at(s.ctx, v.date, v.start), end: signed },
      practiceSetting: concept(SYSTEMS.snomed, '419772000', 'Family practice'),
    },
  });
}
