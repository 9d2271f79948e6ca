/**
 * What a downtime file holds once unlocked: ready-to-show text, not FHIR. The viewer (viewer/viewer.js)
 * only lays it out, so it stays small and the FHIR knowledge stays here, in tested TypeScript.
 * Times are ISO instants; `localDate`/`localTime` are already in the practice's time zone.
 */

export interface DowntimeContent {
  version: 1;
  practiceName?: string;
  timeZone: string;
  /** When the store was read. */
  asOf: string;
  exportedBy: string;
  /** Hours after `asOf` when the viewer warns that the copy is stale. */
  staleAfterHours: number;
  days: ScheduleDay[];
  patients: PatientChart[];
  /** Census mode: every active patient, not only the scheduled ones. */
  census: boolean;
  /** Scheduled patients whose charts are restricted and were left out. */
  restrictedLeftOut: number;
  /** Census patients left out to stay within the size budget. */
  censusLeftOut: number;
}

export interface ScheduleDay {
  localDate: string;
  clinicians: ClinicianDay[];
}

export interface ClinicianDay {
  name: string;
  appointments: ScheduledVisit[];
}

export interface ScheduledVisit {
  localTime: string;
  minutes?: number;
  status: string;
  reason: string;
  /** Index into `patients`; absent when the chart is restricted or the patient is unknown. */
  patient?: number;
  /** Shown when there is no chart to open (restricted, or a patient the store does not have). */
  patientLabel?: string;
}

export interface PatientChart {
  name: string;
  /** "Family, Given" for sorting and for the printed packet. */
  sortName: string;
  birthDate?: string;
  age?: string;
  gender?: string;
  identifiers: string[];
  telecom: string[];
  address: string[];
  language?: string;
  generalPractitioner?: string;
  contacts: { name: string; relationship: string; telecom: string[] }[];
  careTeam: { name: string; role: string }[];
  allergies: { text: string; criticality?: string; reactions: string[]; status: string }[];
  problems: { text: string; onset?: string; status: string }[];
  medications: { text: string; dosage?: string; since?: string; prescriber?: string; status: string }[];
  immunizations: { text: string; date?: string }[];
  vitals: Series[];
  labs: Series[];
  notes: { date?: string; title: string; author?: string; text: string }[];
  referrals: { text: string; status: string; date?: string; to?: string; progress?: string }[];
  advanceDirectives: { text: string; date?: string; status: string }[];
  /** Visits in the file's schedule, as "day time, clinician". */
  visits: string[];
  /** How many results were left out to keep the chart short. */
  omitted: { labs: number; vitals: number };
}

/** Repeated measurements of one test, oldest first; plotted when there are two or more numbers. */
export interface Series {
  name: string;
  unit?: string;
  /** Names of the plotted lines when a value has several numbers (systolic/diastolic). */
  lines?: string[];
  low?: number;
  high?: number;
  points: { date: string; text: string; values: (number | null)[]; flag?: string }[];
}
