/**
 * Plain-text clinical notes in the SOAP layout a family physician writes: a header, then
 * Subjective, Objective, Assessment and Plan. The content is assembled by history.ts from what
 * actually happened at the visit (the same vitals, labs and orders that are in the chart).
 */
import { clockTime } from './calendar.ts';
import type { Vitals } from './physiology.ts';
import type { Random } from './random.ts';

export interface NoteHeader {
  title: string;
  date: string;
  minutes: number;
  author: string;
  patient: string;
  age: string;
  sex: string;
  mrn: string;
}

export interface NoteBody {
  subjective: string[];
  objective: string[];
  assessment: string[];
  plan: string[];
}

export const emptyBody = (): NoteBody => ({ subjective: [], objective: [], assessment: [], plan: [] });

const section = (label: string, lines: string[]) =>
  lines.length ? `${label}\n${lines.map((l) => `  ${l}`).join('\n')}\n` : '';

export function soapNote(header: NoteHeader, body: NoteBody): string {
  return (
    `${header.title.toUpperCase()}\n` +
    `Date: ${header.date} ${clockTime(header.minutes)}    Clinician: ${header.author}\n` +
    `Patient: ${header.patient}, ${header.age}, ${header.sex}    MRN: ${header.mrn}\n\n` +
    section('S:', body.subjective) +
    section('O:', body.objective) +
    section(
      'A:',
      body.assessment.map((a, i) => `${i + 1}. ${a}`),
    ) +
    section('P:', body.plan) +
    `\nElectronically signed by ${header.author}.\n`
  );
}

export function vitalsLine(
  v: Vitals,
  shown: { bloodPressure: boolean; respiratory: boolean; height: boolean },
): string {
  const parts = [
    ...(shown.bloodPressure ? [`BP ${v.systolic}/${v.diastolic} mmHg`] : []),
    `HR ${v.heartRate}/min`,
    ...(shown.respiratory ? [`RR ${v.respiratoryRate}/min`] : []),
    `Temp ${v.temperature.toFixed(1)} °C`,
    ...(shown.respiratory ? [`SpO2 ${v.oxygenSaturation}%`] : []),
    `Wt ${v.weight.toFixed(1)} kg`,
    ...(shown.height ? [`Ht ${v.height.toFixed(1)} cm`] : []),
    `BMI ${v.bmi.toFixed(1)} kg/m2`,
  ];
  return `Vitals: ${parts.join(', ')}.`;
}

const WELL_ADULT = [
  'Feels well overall. Exercises two to three times a week. No new concerns.',
  'No acute complaints. Sleeping reasonably; works full time. Diet reviewed.',
  'Here for yearly check. Reports good energy, walks daily. Asks about screening tests due.',
  'Feels well. Occasional aches after gardening. Non-smoker, drinks alcohol socially.',
];

const WELL_CHILD = [
  'Parent reports good feeding and sleep; development on track for age.',
  'Growing well, active, no concerns from parents. Up to date on dental visits.',
  'Doing well at school and in sports. Screen time and sleep discussed.',
];

const ADHERENCE = [
  'Taking medications as prescribed, no side effects.',
  'Reports good adherence; occasionally misses an evening dose.',
  'Uses a weekly pill organizer; no missed doses.',
  'Refills on time at the pharmacy; no side effects reported.',
];

const EXAM_NORMAL = [
  'Well-appearing, no distress. Heart regular rate and rhythm, no murmur. Lungs clear. Abdomen soft, non-tender. No edema.',
  'Alert, in no distress. Normal heart sounds, lungs clear bilaterally. No peripheral edema.',
];

export const phrase = {
  wellAdult: (rng: Random) => rng.pick(WELL_ADULT),
  wellChild: (rng: Random) => rng.pick(WELL_CHILD),
  adherence: (rng: Random) => rng.pick(ADHERENCE),
  normalExam: (rng: Random) => rng.pick(EXAM_NORMAL),
};

/** Formats a lab value with its unit, e.g. `HbA1c 7.4%` or `LDL 96 mg/dL`. */
export const labText = (short: string, value: number, unit: string) =>
  unit === '%' ? `${short} ${value}%` : `${short} ${value} ${unit}`;
