/**
 * The code lists behind the demo: problems (SNOMED CT with ICD-10-CM), drugs (RxNorm clinical drugs),
 * vaccines (CVX), labs and vitals (LOINC with UCUM units), allergens, encounter and referral codes.
 * RxNorm, CVX and allergen codes are the ones Synthea uses (checked against its published output),
 * so a terminology server or a reviewer will recognise them.
 */

// ---------------------------------------------------------------------------------------------
// Problems

export interface ProblemDef {
  key: string;
  snomed: string;
  /** SNOMED CT display (fully specified name without the semantic tag where usual in EHRs). */
  display: string;
  icd10: string;
  icd10Display: string;
  /** What the clinician reads on the problem list. */
  text: string;
}

export type ChronicKey =
  | 'hypertension'
  | 'diabetes'
  | 'hyperlipidemia'
  | 'prediabetes'
  | 'asthma'
  | 'copd'
  | 'hypothyroidism'
  | 'obesity'
  | 'depression'
  | 'anxiety'
  | 'gerd'
  | 'kneeOsteoarthritis'
  | 'ckd3'
  | 'atrialFibrillation'
  | 'allergicRhinitis'
  | 'migraine'
  | 'atopicDermatitis';

export interface ChronicDef extends ProblemDef {
  key: ChronicKey;
  /** Chance of having the problem at a given age and sex (rough US primary-care prevalence). */
  prevalence: (age: number, female: boolean) => number;
  /** Months between routine follow-up visits while the problem is active, if it needs them. */
  followUpMonths?: number;
}

const byAge = (bands: [number, number][]) => (age: number) => {
  for (const [upTo, p] of bands) if (age < upTo) return p;
  return bands[bands.length - 1][1];
};

export const CHRONIC: Record<ChronicKey, ChronicDef> = {
  hypertension: {
    key: 'hypertension',
    snomed: '38341003',
    display: 'Hypertensive disorder, systemic arterial',
    icd10: 'I10',
    icd10Display: 'Essential (primary) hypertension',
    text: 'Hypertension',
    prevalence: byAge([
      [18, 0],
      [30, 0.05],
      [45, 0.16],
      [60, 0.36],
      [75, 0.55],
      [200, 0.65],
    ]),
    followUpMonths: 6,
  },
  diabetes: {
    key: 'diabetes',
    snomed: '44054006',
    display: 'Diabetes mellitus type 2',
    icd10: 'E11.9',
    icd10Display: 'Type 2 diabetes mellitus without complications',
    text: 'Type 2 diabetes mellitus',
    prevalence: byAge([
      [25, 0],
      [40, 0.04],
      [55, 0.11],
      [70, 0.2],
      [200, 0.24],
    ]),
    followUpMonths: 3,
  },
  hyperlipidemia: {
    key: 'hyperlipidemia',
    snomed: '55822004',
    display: 'Hyperlipidemia',
    icd10: 'E78.5',
    icd10Display: 'Hyperlipidemia, unspecified',
    text: 'Hyperlipidemia',
    prevalence: byAge([
      [25, 0],
      [40, 0.08],
      [55, 0.25],
      [70, 0.4],
      [200, 0.45],
    ]),
    followUpMonths: 6,
  },
  prediabetes: {
    key: 'prediabetes',
    snomed: '714628002',
    display: 'Prediabetes',
    icd10: 'R73.03',
    icd10Display: 'Prediabetes',
    text: 'Prediabetes',
    prevalence: byAge([
      [25, 0],
      [45, 0.08],
      [200, 0.15],
    ]),
  },
  asthma: {
    key: 'asthma',
    snomed: '195967001',
    display: 'Asthma',
    icd10: 'J45.909',
    icd10Display: 'Unspecified asthma, uncomplicated',
    text: 'Asthma',
    prevalence: byAge([
      [3, 0],
      [18, 0.09],
      [200, 0.08],
    ]),
    followUpMonths: 12,
  },
  copd: {
    key: 'copd',
    snomed: '13645005',
    display: 'Chronic obstructive lung disease',
    icd10: 'J44.9',
    icd10Display: 'Chronic obstructive pulmonary disease, unspecified',
    text: 'COPD',
    prevalence: byAge([
      [45, 0],
      [65, 0.05],
      [200, 0.1],
    ]),
    followUpMonths: 6,
  },
  hypothyroidism: {
    key: 'hypothyroidism',
    snomed: '40930008',
    display: 'Hypothyroidism',
    icd10: 'E03.9',
    icd10Display: 'Hypothyroidism, unspecified',
    text: 'Hypothyroidism',
    prevalence: (age, female) => (age < 20 ? 0 : female ? (age < 50 ? 0.06 : 0.12) : 0.03),
    followUpMonths: 12,
  },
  obesity: {
    key: 'obesity',
    snomed: '414916001',
    display: 'Obesity',
    icd10: 'E66.9',
    icd10Display: 'Obesity, unspecified',
    text: 'Obesity',
    prevalence: byAge([
      [6, 0],
      [18, 0.17],
      [200, 0.36],
    ]),
  },
  depression: {
    key: 'depression',
    snomed: '370143000',
    display: 'Major depressive disorder',
    icd10: 'F32.9',
    icd10Display: 'Major depressive disorder, single episode, unspecified',
    text: 'Major depressive disorder',
    prevalence: (age, female) => (age < 14 ? 0 : female ? 0.1 : 0.06),
    followUpMonths: 6,
  },
  anxiety: {
    key: 'anxiety',
    snomed: '21897009',
    display: 'Generalized anxiety disorder',
    icd10: 'F41.1',
    icd10Display: 'Generalized anxiety disorder',
    text: 'Generalized anxiety disorder',
    prevalence: (age, female) => (age < 12 ? 0 : female ? 0.09 : 0.05),
  },
  gerd: {
    key: 'gerd',
    snomed: '235595009',
    display: 'Gastroesophageal reflux disease',
    icd10: 'K21.9',
    icd10Display: 'Gastro-esophageal reflux disease without esophagitis',
    text: 'GERD',
    prevalence: byAge([
      [18, 0],
      [200, 0.09],
    ]),
  },
  kneeOsteoarthritis: {
    key: 'kneeOsteoarthritis',
    snomed: '239873007',
    display: 'Osteoarthritis of knee',
    icd10: 'M17.9',
    icd10Display: 'Osteoarthritis of knee, unspecified',
    text: 'Osteoarthritis of knee',
    prevalence: byAge([
      [45, 0],
      [60, 0.08],
      [200, 0.2],
    ]),
  },
  ckd3: {
    key: 'ckd3',
    snomed: '433144002',
    display: 'Chronic kidney disease stage 3',
    icd10: 'N18.30',
    icd10Display: 'Chronic kidney disease, stage 3 unspecified',
    text: 'Chronic kidney disease, stage 3',
    prevalence: byAge([
      [50, 0],
      [65, 0.04],
      [200, 0.12],
    ]),
    followUpMonths: 6,
  },
  atrialFibrillation: {
    key: 'atrialFibrillation',
    snomed: '49436004',
    display: 'Atrial fibrillation',
    icd10: 'I48.91',
    icd10Display: 'Unspecified atrial fibrillation',
    text: 'Atrial fibrillation',
    prevalence: byAge([
      [55, 0],
      [70, 0.04],
      [200, 0.1],
    ]),
    followUpMonths: 6,
  },
  allergicRhinitis: {
    key: 'allergicRhinitis',
    snomed: '61582004',
    display: 'Allergic rhinitis',
    icd10: 'J30.9',
    icd10Display: 'Allergic rhinitis, unspecified',
    text: 'Allergic rhinitis',
    prevalence: byAge([
      [4, 0],
      [200, 0.12],
    ]),
  },
  migraine: {
    key: 'migraine',
    snomed: '37796009',
    display: 'Migraine',
    icd10: 'G43.909',
    icd10Display: 'Migraine, unspecified, not intractable, without status migrainosus',
    text: 'Migraine',
    prevalence: (age, female) => (age < 12 ? 0 : female ? 0.12 : 0.05),
  },
  atopicDermatitis: {
    key: 'atopicDermatitis',
    snomed: '24079001',
    display: 'Atopic dermatitis',
    icd10: 'L20.9',
    icd10Display: 'Atopic dermatitis, unspecified',
    text: 'Atopic dermatitis',
    prevalence: byAge([
      [1, 0],
      [18, 0.08],
      [200, 0.03],
    ]),
  },
};

export const CHRONIC_KEYS = Object.keys(CHRONIC) as ChronicKey[];

/** A short illness seen at a same-day visit: the complaint booked, the diagnosis made, the plan. */
export interface AcuteDef {
  key: string;
  /** What the front desk writes when booking the visit. */
  booked: string;
  complaint: { snomed: string; display: string };
  diagnosis: ProblemDef;
  minAge: number;
  maxAge?: number;
  /** Relative frequency; winter illnesses get more weight from October to March. */
  weight: number;
  winter?: boolean;
  medication?: MedicationKey;
  resolvesInDays: number;
  history: string;
  exam: string;
  plan: string;
}

export const ACUTE: AcuteDef[] = [
  {
    key: 'uri',
    booked: 'Cough and congestion',
    complaint: { snomed: '49727002', display: 'Cough' },
    diagnosis: {
      key: 'uri',
      snomed: '54150009',
      display: 'Upper respiratory infection',
      icd10: 'J06.9',
      icd10Display: 'Acute upper respiratory infection, unspecified',
      text: 'Viral upper respiratory infection',
    },
    minAge: 0,
    weight: 5,
    winter: true,
    resolvesInDays: 10,
    history: 'Three days of cough, nasal congestion and sore throat; sick contacts at home.',
    exam: 'Mild pharyngeal erythema, clear rhinorrhea, lungs clear to auscultation.',
    plan: 'Supportive care: fluids, rest, saline rinses, honey for cough if over 1 year. Return if fever persists beyond 3 days or breathing worsens.',
  },
  {
    key: 'strep',
    booked: 'Sore throat and fever',
    complaint: { snomed: '162397003', display: 'Pain in throat' },
    diagnosis: {
      key: 'strep',
      snomed: '43878008',
      display: 'Streptococcal sore throat',
      icd10: 'J02.0',
      icd10Display: 'Streptococcal pharyngitis',
      text: 'Streptococcal pharyngitis',
    },
    minAge: 12,
    maxAge: 45,
    weight: 2,
    winter: true,
    medication: 'penicillinV500',
    resolvesInDays: 10,
    history: 'Sore throat and fever since yesterday, no cough.',
    exam: 'Tonsillar exudate, tender anterior cervical nodes. Rapid strep antigen positive.',
    plan: 'Antibiotic course for 10 days; school or work after 24 hours of treatment. Return if unable to swallow.',
  },
  {
    key: 'pharyngitis',
    booked: 'Sore throat',
    complaint: { snomed: '162397003', display: 'Pain in throat' },
    diagnosis: {
      key: 'pharyngitis',
      snomed: '195662009',
      display: 'Acute viral pharyngitis',
      icd10: 'J02.9',
      icd10Display: 'Acute pharyngitis, unspecified',
      text: 'Acute viral pharyngitis',
    },
    minAge: 2,
    weight: 3,
    winter: true,
    resolvesInDays: 7,
    history: 'Sore throat for two days with mild cough and congestion.',
    exam: 'Pharyngeal erythema without exudate. Rapid strep antigen negative.',
    plan: 'Analgesics and warm fluids. Culture sent; will call if positive.',
  },
  {
    key: 'bronchitis',
    booked: 'Cough',
    complaint: { snomed: '49727002', display: 'Cough' },
    diagnosis: {
      key: 'bronchitis',
      snomed: '10509002',
      display: 'Acute bronchitis',
      icd10: 'J20.9',
      icd10Display: 'Acute bronchitis, unspecified',
      text: 'Acute bronchitis',
    },
    minAge: 5,
    weight: 3,
    winter: true,
    resolvesInDays: 21,
    history: 'Productive cough for 10 days after a cold; no fever, no chest pain.',
    exam: 'Scattered rhonchi clearing with cough, no focal crackles. SpO2 normal.',
    plan: 'No antibiotic indicated. Cough may last 3 weeks. Return for fever, dyspnea or hemoptysis.',
  },
  {
    key: 'sinusitis',
    booked: 'Sinus pressure',
    complaint: { snomed: '68235000', display: 'Nasal congestion' },
    diagnosis: {
      key: 'sinusitis',
      snomed: '75498004',
      display: 'Acute bacterial sinusitis',
      icd10: 'J01.90',
      icd10Display: 'Acute sinusitis, unspecified',
      text: 'Acute sinusitis',
    },
    minAge: 12,
    weight: 2,
    winter: true,
    medication: 'amoxicillinClavulanate',
    resolvesInDays: 14,
    history: 'Facial pressure and purulent nasal discharge for 12 days, worse after initial improvement.',
    exam: 'Maxillary tenderness, purulent drainage in the posterior pharynx.',
    plan: 'Antibiotic for 10 days, nasal saline irrigation. Return if swelling around the eye or high fever.',
  },
  {
    key: 'otitis',
    booked: 'Ear pain',
    complaint: { snomed: '16001004', display: 'Otalgia' },
    diagnosis: {
      key: 'otitis',
      snomed: '65363002',
      display: 'Otitis media',
      icd10: 'H66.90',
      icd10Display: 'Otitis media, unspecified, unspecified ear',
      text: 'Acute otitis media',
    },
    minAge: 0,
    maxAge: 12,
    weight: 3,
    winter: true,
    resolvesInDays: 10,
    history: 'Ear pain since last night with fever to 38.6 °C; preceded by a cold.',
    exam: 'Bulging, erythematous tympanic membrane on the left.',
    plan: 'Watchful waiting for 48 hours with weight-based acetaminophen or ibuprofen for pain; call to start amoxicillin if not improving. Ear recheck in 3 weeks if symptoms persist.',
  },
  {
    key: 'uti',
    booked: 'Painful urination',
    complaint: { snomed: '49650001', display: 'Dysuria' },
    diagnosis: {
      key: 'uti',
      snomed: '68566005',
      display: 'Urinary tract infectious disease',
      icd10: 'N39.0',
      icd10Display: 'Urinary tract infection, site not specified',
      text: 'Urinary tract infection',
    },
    minAge: 16,
    weight: 2,
    medication: 'nitrofurantoin',
    resolvesInDays: 7,
    history: 'Burning with urination and frequency for two days; no flank pain or fever.',
    exam: 'Mild suprapubic tenderness, no CVA tenderness. Urine dipstick positive for leukocytes and nitrites.',
    plan: 'Antibiotic for 5 days, fluids. Return if fever or flank pain.',
  },
  {
    key: 'ankleSprain',
    booked: 'Ankle injury',
    complaint: { snomed: '44465007', display: 'Sprain of ankle' },
    diagnosis: {
      key: 'ankleSprain',
      snomed: '44465007',
      display: 'Sprain of ankle',
      icd10: 'S93.409A',
      icd10Display: 'Sprain of unspecified ligament of unspecified ankle, initial encounter',
      text: 'Ankle sprain',
    },
    minAge: 14,
    maxAge: 70,
    weight: 1.5,
    medication: 'ibuprofen200',
    resolvesInDays: 21,
    history: 'Rolled the ankle playing sports yesterday; able to bear weight with pain.',
    exam: 'Swelling and tenderness over the anterior talofibular ligament; no bony tenderness (Ottawa rules negative).',
    plan: 'Rest, ice, compression, elevation; NSAID as needed. Ankle exercises after 72 hours.',
  },
  {
    key: 'lowBackPain',
    booked: 'Back pain',
    complaint: { snomed: '279039007', display: 'Low back pain' },
    diagnosis: {
      key: 'lowBackPain',
      snomed: '279039007',
      display: 'Low back pain',
      icd10: 'M54.50',
      icd10Display: 'Low back pain, unspecified',
      text: 'Acute low back pain',
    },
    minAge: 20,
    weight: 2,
    medication: 'naproxen220',
    resolvesInDays: 28,
    history:
      'Low back pain after lifting boxes four days ago; no leg weakness, numbness or bladder symptoms.',
    exam: 'Paraspinal muscle tenderness, negative straight-leg raise, normal strength and reflexes.',
    plan: 'Stay active, heat, NSAID as needed. Red-flag symptoms reviewed. Physical therapy if not better in 4 weeks.',
  },
  {
    key: 'tensionHeadache',
    booked: 'Headaches',
    complaint: { snomed: '25064002', display: 'Headache' },
    diagnosis: {
      key: 'tensionHeadache',
      snomed: '398057008',
      display: 'Tension-type headache',
      icd10: 'G44.209',
      icd10Display: 'Tension-type headache, unspecified, not intractable',
      text: 'Tension-type headache',
    },
    minAge: 12,
    weight: 1.5,
    medication: 'acetaminophen325',
    resolvesInDays: 14,
    history: 'Band-like headaches late in the day for two weeks, related to work stress and poor sleep.',
    exam: 'Normal neurological exam, pericranial muscle tenderness.',
    plan: 'Sleep hygiene, limit analgesics to 2-3 days a week. Headache diary.',
  },
  {
    key: 'contactDermatitis',
    booked: 'Rash',
    complaint: { snomed: '271807003', display: 'Eruption of skin' },
    diagnosis: {
      key: 'contactDermatitis',
      snomed: '40275004',
      display: 'Contact dermatitis',
      icd10: 'L25.9',
      icd10Display: 'Unspecified contact dermatitis, unspecified cause',
      text: 'Contact dermatitis',
    },
    minAge: 2,
    weight: 1,
    resolvesInDays: 14,
    history: 'Itchy rash on the forearms after yard work last weekend.',
    exam: 'Linear vesicular plaques on both forearms; no signs of infection.',
    plan: 'Topical steroid cream twice daily for 2 weeks, avoid the trigger, oral antihistamine at night.',
  },
  {
    key: 'gastroenteritis',
    booked: 'Vomiting and diarrhea',
    complaint: { snomed: '21522001', display: 'Abdominal pain' },
    diagnosis: {
      key: 'gastroenteritis',
      snomed: '25374005',
      display: 'Gastroenteritis',
      icd10: 'A08.4',
      icd10Display: 'Viral intestinal infection, unspecified',
      text: 'Viral gastroenteritis',
    },
    minAge: 1,
    weight: 1.5,
    winter: true,
    resolvesInDays: 5,
    history: 'Vomiting and watery diarrhea since yesterday, tolerating small sips.',
    exam: 'Mildly dry mucous membranes, soft abdomen with diffuse mild tenderness.',
    plan: 'Oral rehydration, advance diet as tolerated. Return for blood in stool, persistent vomiting or signs of dehydration.',
  },
];

// ---------------------------------------------------------------------------------------------
// Medications

export type MedicationKey =
  | 'lisinopril10'
  | 'lisinopril20'
  | 'amlodipine5'
  | 'hydrochlorothiazide25'
  | 'metforminEr500'
  | 'atorvastatin20'
  | 'simvastatin20'
  | 'levothyroxine75'
  | 'albuterolInhaler'
  | 'fluticasoneInhaler'
  | 'metoprololEr100'
  | 'warfarin5'
  | 'aspirin81'
  | 'acetaminophen325'
  | 'naproxen220'
  | 'ibuprofen200'
  | 'amoxicillinClavulanate'
  | 'penicillinV500'
  | 'nitrofurantoin';

export interface MedicationDef {
  key: MedicationKey;
  rxnorm: string;
  display: string;
  /** The short name used in notes and lists. */
  name: string;
  sig: string;
  form: 'tablet' | 'capsule' | 'puff';
  dose: number;
  frequency: number;
  period: number;
  periodUnit: 'd' | 'h';
  asNeeded?: boolean;
  route: 'oral' | 'inhaled';
  /** Days covered by one fill; chronic drugs are written for 90 days with refills. */
  supplyDays: number;
  quantity: number;
  refills: number;
}

const med = (
  key: MedicationKey,
  rxnorm: string,
  display: string,
  name: string,
  sig: string,
  rest: Partial<MedicationDef> = {},
): MedicationDef => ({
  key,
  rxnorm,
  display,
  name,
  sig,
  form: 'tablet',
  dose: 1,
  frequency: 1,
  period: 1,
  periodUnit: 'd',
  route: 'oral',
  supplyDays: 90,
  quantity: 90,
  refills: 3,
  ...rest,
});

export const MEDICATIONS: Record<MedicationKey, MedicationDef> = {
  lisinopril10: med(
    'lisinopril10',
    '314076',
    'lisinopril 10 MG Oral Tablet',
    'lisinopril 10 mg',
    'Take 1 tablet by mouth once daily.',
  ),
  lisinopril20: med(
    'lisinopril20',
    '314077',
    'lisinopril 20 MG Oral Tablet',
    'lisinopril 20 mg',
    'Take 1 tablet by mouth once daily.',
  ),
  amlodipine5: med(
    'amlodipine5',
    '197361',
    'amlodipine 5 MG Oral Tablet',
    'amlodipine 5 mg',
    'Take 1 tablet by mouth once daily.',
  ),
  hydrochlorothiazide25: med(
    'hydrochlorothiazide25',
    '310798',
    'Hydrochlorothiazide 25 MG Oral Tablet',
    'hydrochlorothiazide 25 mg',
    'Take 1 tablet by mouth every morning.',
  ),
  metforminEr500: med(
    'metforminEr500',
    '860975',
    '24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet',
    'metformin ER 500 mg',
    'Take 1 tablet by mouth once daily with the evening meal.',
  ),
  atorvastatin20: med(
    'atorvastatin20',
    '617310',
    'atorvastatin 20 MG Oral Tablet',
    'atorvastatin 20 mg',
    'Take 1 tablet by mouth once daily.',
  ),
  simvastatin20: med(
    'simvastatin20',
    '312961',
    'Simvastatin 20 MG Oral Tablet',
    'simvastatin 20 mg',
    'Take 1 tablet by mouth every evening.',
  ),
  levothyroxine75: med(
    'levothyroxine75',
    '966222',
    'Levothyroxine Sodium 0.075 MG Oral Tablet',
    'levothyroxine 75 mcg',
    'Take 1 tablet by mouth every morning on an empty stomach, 30 minutes before breakfast.',
  ),
  albuterolInhaler: med(
    'albuterolInhaler',
    '745679',
    '200 ACTUAT Albuterol 0.09 MG/ACTUAT Metered Dose Inhaler',
    'albuterol HFA inhaler',
    'Inhale 2 puffs every 4 to 6 hours as needed for wheezing or shortness of breath.',
    {
      form: 'puff',
      dose: 2,
      frequency: 1,
      period: 4,
      periodUnit: 'h',
      asNeeded: true,
      route: 'inhaled',
      supplyDays: 30,
      quantity: 1,
      refills: 2,
    },
  ),
  fluticasoneInhaler: med(
    'fluticasoneInhaler',
    '895994',
    '120 ACTUAT Fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler',
    'fluticasone 44 mcg inhaler',
    'Inhale 2 puffs twice daily; rinse mouth after use.',
    { form: 'puff', dose: 2, frequency: 2, route: 'inhaled', supplyDays: 30, quantity: 1, refills: 5 },
  ),
  metoprololEr100: med(
    'metoprololEr100',
    '866412',
    '24 HR metoprolol succinate 100 MG Extended Release Oral Tablet',
    'metoprolol succinate ER 100 mg',
    'Take 1 tablet by mouth once daily.',
  ),
  warfarin5: med(
    'warfarin5',
    '855332',
    'Warfarin Sodium 5 MG Oral Tablet',
    'warfarin 5 mg',
    'Take 1 tablet by mouth daily in the evening or as directed by the INR clinic.',
    {
      supplyDays: 30,
      quantity: 30,
      refills: 2,
    },
  ),
  aspirin81: med(
    'aspirin81',
    '243670',
    'Aspirin 81 MG Oral Tablet',
    'aspirin 81 mg',
    'Take 1 tablet by mouth once daily.',
  ),
  acetaminophen325: med(
    'acetaminophen325',
    '313782',
    'Acetaminophen 325 MG Oral Tablet',
    'acetaminophen 325 mg',
    'Take 2 tablets by mouth every 6 hours as needed for pain. Do not exceed 3,000 mg a day.',
    { dose: 2, period: 6, periodUnit: 'h', asNeeded: true, supplyDays: 14, quantity: 60, refills: 0 },
  ),
  naproxen220: med(
    'naproxen220',
    '849574',
    'Naproxen sodium 220 MG Oral Tablet',
    'naproxen sodium 220 mg',
    'Take 1 tablet by mouth every 12 hours as needed for pain, with food.',
    { period: 12, periodUnit: 'h', asNeeded: true, supplyDays: 14, quantity: 28, refills: 0 },
  ),
  ibuprofen200: med(
    'ibuprofen200',
    '310965',
    'Ibuprofen 200 MG Oral Tablet',
    'ibuprofen 200 mg',
    'Take 2 tablets by mouth every 8 hours as needed for pain, with food.',
    { dose: 2, period: 8, periodUnit: 'h', asNeeded: true, supplyDays: 10, quantity: 60, refills: 0 },
  ),
  amoxicillinClavulanate: med(
    'amoxicillinClavulanate',
    '562251',
    'Amoxicillin 250 MG / Clavulanate 125 MG Oral Tablet',
    'amoxicillin-clavulanate 250/125 mg',
    'Take 1 tablet by mouth three times daily for 10 days.',
    { frequency: 3, supplyDays: 10, quantity: 30, refills: 0 },
  ),
  penicillinV500: med(
    'penicillinV500',
    '834102',
    'Penicillin V Potassium 500 MG Oral Tablet',
    'penicillin V potassium 500 mg',
    'Take 1 tablet by mouth twice daily for 10 days.',
    { frequency: 2, supplyDays: 10, quantity: 20, refills: 0 },
  ),
  nitrofurantoin: med(
    'nitrofurantoin',
    '311995',
    'NITROFURANTOIN, MACROCRYSTALS 50 MG Oral Capsule',
    'nitrofurantoin macrocrystals 50 mg',
    'Take 1 capsule by mouth four times daily for 5 days.',
    { form: 'capsule', frequency: 4, supplyDays: 5, quantity: 20, refills: 0 },
  ),
};

// ---------------------------------------------------------------------------------------------
// Allergies

export interface AllergenDef {
  key: string;
  system: 'rxnorm' | 'snomed';
  code: string;
  display: string;
  category: 'medication' | 'food' | 'environment';
  type: 'allergy' | 'intolerance';
  reactions: { snomed: string; display: string }[];
  /** Allergic to the penicillin family (steers antibiotic choice). */
  penicillin?: boolean;
  weight: number;
}

const R = {
  hives: { snomed: '247472004', display: 'Wheal (finding)' },
  rash: { snomed: '271807003', display: 'Eruption of skin (disorder)' },
  anaphylaxis: { snomed: '39579001', display: 'Anaphylaxis (disorder)' },
  dyspnea: { snomed: '267036007', display: 'Dyspnea (finding)' },
  itching: { snomed: '418290006', display: 'Itching (finding)' },
  vomiting: { snomed: '300359004', display: 'Finding of vomiting (finding)' },
  angioedema: { snomed: '402387002', display: 'Allergic angioedema (disorder)' },
  rhinoconjunctivitis: { snomed: '878820003', display: 'Rhinoconjunctivitis (disorder)' },
  runnyNose: { snomed: '267101005', display: 'Nose running' },
  cough: { snomed: '49727002', display: 'Cough (finding)' },
};

export const ALLERGENS: AllergenDef[] = [
  {
    key: 'penicillin',
    system: 'rxnorm',
    code: '70618',
    display: 'Penicillin',
    category: 'medication',
    type: 'allergy',
    reactions: [R.hives, R.rash],
    penicillin: true,
    weight: 8,
  },
  {
    key: 'amoxicillin',
    system: 'rxnorm',
    code: '723',
    display: 'Amoxicillin',
    category: 'medication',
    type: 'allergy',
    reactions: [R.rash],
    penicillin: true,
    weight: 3,
  },
  {
    key: 'sulfa',
    system: 'rxnorm',
    code: '10831',
    display: 'Sulfamethoxazole / Trimethoprim',
    category: 'medication',
    type: 'allergy',
    reactions: [R.rash, R.itching],
    weight: 4,
  },
  {
    key: 'codeine',
    system: 'rxnorm',
    code: '2670',
    display: 'Codeine',
    category: 'medication',
    type: 'intolerance',
    reactions: [R.vomiting],
    weight: 3,
  },
  {
    key: 'aspirin',
    system: 'rxnorm',
    code: '1191',
    display: 'Aspirin',
    category: 'medication',
    type: 'allergy',
    reactions: [R.angioedema, R.hives],
    weight: 1,
  },
  {
    key: 'peanut',
    system: 'snomed',
    code: '256349002',
    display: 'Peanut - dietary (substance)',
    category: 'food',
    type: 'allergy',
    reactions: [R.anaphylaxis, R.hives],
    weight: 2,
  },
  {
    key: 'treeNut',
    system: 'snomed',
    code: '442571000124108',
    display: 'Tree nut (substance)',
    category: 'food',
    type: 'allergy',
    reactions: [R.hives, R.angioedema],
    weight: 1,
  },
  {
    key: 'egg',
    system: 'snomed',
    code: '102263004',
    display: 'Eggs (edible) (substance)',
    category: 'food',
    type: 'allergy',
    reactions: [R.hives, R.vomiting],
    weight: 1,
  },
  {
    key: 'latex',
    system: 'snomed',
    code: '111088007',
    display: 'Latex (substance)',
    category: 'environment',
    type: 'allergy',
    reactions: [R.rash, R.itching],
    weight: 1.5,
  },
  {
    key: 'beeVenom',
    system: 'snomed',
    code: '288328004',
    display: 'Bee venom (substance)',
    category: 'environment',
    type: 'allergy',
    reactions: [R.anaphylaxis, R.dyspnea],
    weight: 1,
  },
  {
    key: 'dustMite',
    system: 'snomed',
    code: '260147004',
    display: 'House dust mite (organism)',
    category: 'environment',
    type: 'allergy',
    reactions: [R.rhinoconjunctivitis, R.runnyNose],
    weight: 2,
  },
  {
    key: 'dander',
    system: 'snomed',
    code: '264287008',
    display: 'Animal dander (substance)',
    category: 'environment',
    type: 'allergy',
    reactions: [R.rhinoconjunctivitis, R.itching],
    weight: 2,
  },
  {
    key: 'treePollen',
    system: 'snomed',
    code: '782576004',
    display: 'Tree pollen (substance)',
    category: 'environment',
    type: 'allergy',
    reactions: [R.runnyNose, R.rhinoconjunctivitis],
    weight: 2,
  },
  {
    key: 'mold',
    system: 'snomed',
    code: '84489001',
    display: 'Mold (organism)',
    category: 'environment',
    type: 'allergy',
    reactions: [R.runnyNose, R.dyspnea],
    weight: 1,
  },
];

/** The intolerance recorded when an ACE inhibitor causes the classic dry cough. */
export const LISINOPRIL_COUGH: AllergenDef = {
  key: 'lisinopril',
  system: 'rxnorm',
  code: '29046',
  display: 'Lisinopril',
  category: 'medication',
  type: 'intolerance',
  reactions: [R.cough],
  weight: 0,
};

export const NO_KNOWN_ALLERGY = { snomed: '716186003', display: 'No known allergy (situation)' };

// ---------------------------------------------------------------------------------------------
// Vaccines

export interface VaccineDef {
  key: string;
  cvx: string;
  display: string;
  route: 'IM' | 'SQ';
  dose: number;
}

const vaccine = (
  key: string,
  cvx: string,
  display: string,
  route: 'IM' | 'SQ' = 'IM',
  dose = 0.5,
): VaccineDef => ({
  key,
  cvx,
  display,
  route,
  dose,
});

export const VACCINES = {
  fluQuadrivalent: vaccine(
    'fluQuadrivalent',
    '150',
    'Influenza, injectable, quadrivalent, preservative free',
  ),
  fluTrivalent: vaccine('fluTrivalent', '140', 'Influenza, seasonal, injectable, preservative free'),
  tdap: vaccine('tdap', '115', 'Tdap'),
  td: vaccine('td', '113', 'Td (adult), 5 Lf tetanus toxoid, preservative free, adsorbed'),
  covidPfizer: vaccine(
    'covidPfizer',
    '208',
    'SARS-COV-2 (COVID-19) vaccine, mRNA, spike protein, LNP, preservative free, 30 mcg/0.3mL dose',
    'IM',
    0.3,
  ),
  covidUnspecified: vaccine(
    'covidUnspecified',
    '213',
    'SARS-COV-2 (COVID-19) vaccine, UNSPECIFIED FORMULATION',
  ),
  ppsv23: vaccine('ppsv23', '33', 'pneumococcal polysaccharide vaccine, 23 valent'),
  pcv13: vaccine('pcv13', '133', 'Pneumococcal conjugate PCV 13'),
  zosterRecombinant: vaccine('zosterRecombinant', '187', 'zoster vaccine recombinant'),
  dtap: vaccine('dtap', '20', 'DTaP'),
  ipv: vaccine('ipv', '10', 'IPV'),
  hepBPediatric: vaccine('hepBPediatric', '08', 'Hep B, adolescent or pediatric'),
  hib: vaccine('hib', '49', 'Hib (PRP-OMP)'),
  mmr: vaccine('mmr', '03', 'MMR', 'SQ'),
  varicella: vaccine('varicella', '21', 'varicella', 'SQ'),
  hepAPediatric: vaccine('hepAPediatric', '83', 'Hep A, ped/adol, 2 dose'),
  hpv9: vaccine('hpv9', '165', 'HPV9'),
  menacwy: vaccine('menacwy', '114', 'meningococcal MCV4P'),
} satisfies Record<string, VaccineDef>;

/** The childhood schedule (CDC, simplified): age in months, vaccines given at that well-child visit. */
export const CHILDHOOD_SCHEDULE: [number, VaccineDef[]][] = [
  [2, [VACCINES.dtap, VACCINES.ipv, VACCINES.hepBPediatric, VACCINES.hib, VACCINES.pcv13]],
  [4, [VACCINES.dtap, VACCINES.ipv, VACCINES.hib, VACCINES.pcv13]],
  [6, [VACCINES.dtap, VACCINES.hepBPediatric, VACCINES.pcv13]],
  [12, [VACCINES.mmr, VACCINES.varicella, VACCINES.hepAPediatric, VACCINES.hib]],
  [15, [VACCINES.dtap]],
  [18, [VACCINES.hepAPediatric]],
  [48, [VACCINES.dtap, VACCINES.ipv, VACCINES.mmr, VACCINES.varicella]],
  [132, [VACCINES.tdap, VACCINES.hpv9, VACCINES.menacwy]],
  [144, [VACCINES.hpv9]],
  [192, [VACCINES.menacwy]],
];

/** Well-child visit ages in months (the AAP periodicity schedule, trimmed). */
export const WELL_CHILD_MONTHS = [
  2, 4, 6, 9, 12, 15, 18, 24, 30, 36, 48, 60, 72, 84, 96, 108, 120, 132, 144, 156, 168, 180, 192, 204,
];

// ---------------------------------------------------------------------------------------------
// Vitals and labs

export interface VitalDef {
  loinc: string;
  display: string;
  unit: string;
  ucum: string;
  decimals: number;
}

export const VITALS = {
  bloodPressure: {
    loinc: '85354-9',
    display: 'Blood pressure panel with all children optional',
    unit: 'mmHg',
    ucum: 'mm[Hg]',
    decimals: 0,
  },
  systolic: {
    loinc: '8480-6',
    display: 'Systolic blood pressure',
    unit: 'mmHg',
    ucum: 'mm[Hg]',
    decimals: 0,
  },
  diastolic: {
    loinc: '8462-4',
    display: 'Diastolic blood pressure',
    unit: 'mmHg',
    ucum: 'mm[Hg]',
    decimals: 0,
  },
  heartRate: { loinc: '8867-4', display: 'Heart rate', unit: 'beats/minute', ucum: '/min', decimals: 0 },
  respiratoryRate: {
    loinc: '9279-1',
    display: 'Respiratory rate',
    unit: 'breaths/minute',
    ucum: '/min',
    decimals: 0,
  },
  temperature: { loinc: '8310-5', display: 'Body temperature', unit: 'Cel', ucum: 'Cel', decimals: 1 },
  oxygenSaturation: {
    loinc: '59408-5',
    display: 'Oxygen saturation in Arterial blood by Pulse oximetry',
    unit: '%',
    ucum: '%',
    decimals: 0,
  },
  weight: { loinc: '29463-7', display: 'Body weight', unit: 'kg', ucum: 'kg', decimals: 1 },
  height: { loinc: '8302-2', display: 'Body height', unit: 'cm', ucum: 'cm', decimals: 1 },
  bmi: {
    loinc: '39156-5',
    display: 'Body mass index (BMI) [Ratio]',
    unit: 'kg/m2',
    ucum: 'kg/m2',
    decimals: 1,
  },
} satisfies Record<string, VitalDef>;

export type LabKey =
  | 'a1c'
  | 'glucose'
  | 'bun'
  | 'creatinine'
  | 'egfr'
  | 'sodium'
  | 'potassium'
  | 'cholesterol'
  | 'hdl'
  | 'triglycerides'
  | 'ldl'
  | 'hemoglobin'
  | 'wbc'
  | 'platelets'
  | 'tsh';

export interface LabDef {
  key: LabKey;
  loinc: string;
  display: string;
  /** Short name for notes, e.g. `HbA1c`. */
  short: string;
  unit: string;
  ucum: string;
  decimals: number;
  /** Adult reference interval; either bound may be open. */
  range: (female: boolean) => { low?: number; high?: number };
}

const lab = (
  key: LabKey,
  loinc: string,
  display: string,
  short: string,
  unit: string,
  ucum: string,
  decimals: number,
  range: LabDef['range'],
): LabDef => ({ key, loinc, display, short, unit, ucum, decimals, range });

export const LABS: Record<LabKey, LabDef> = {
  a1c: lab('a1c', '4548-4', 'Hemoglobin A1c/Hemoglobin.total in Blood', 'HbA1c', '%', '%', 1, () => ({
    low: 4.0,
    high: 5.6,
  })),
  glucose: lab(
    'glucose',
    '2345-7',
    'Glucose [Mass/volume] in Serum or Plasma',
    'Glucose',
    'mg/dL',
    'mg/dL',
    0,
    () => ({ low: 70, high: 99 }),
  ),
  bun: lab(
    'bun',
    '3094-0',
    'Urea nitrogen [Mass/volume] in Serum or Plasma',
    'BUN',
    'mg/dL',
    'mg/dL',
    0,
    () => ({ low: 6, high: 24 }),
  ),
  creatinine: lab(
    'creatinine',
    '2160-0',
    'Creatinine [Mass/volume] in Serum or Plasma',
    'Creatinine',
    'mg/dL',
    'mg/dL',
    2,
    (f) => (f ? { low: 0.57, high: 1.0 } : { low: 0.76, high: 1.27 }),
  ),
  egfr: lab(
    'egfr',
    '62238-1',
    'Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum or Plasma by Creatinine-based formula (CKD-EPI)',
    'eGFR',
    'mL/min/1.73m2',
    'mL/min/{1.73_m2}',
    0,
    () => ({ low: 60 }),
  ),
  sodium: lab(
    'sodium',
    '2951-2',
    'Sodium [Moles/volume] in Serum or Plasma',
    'Sodium',
    'mmol/L',
    'mmol/L',
    0,
    () => ({ low: 134, high: 144 }),
  ),
  potassium: lab(
    'potassium',
    '2823-3',
    'Potassium [Moles/volume] in Serum or Plasma',
    'Potassium',
    'mmol/L',
    'mmol/L',
    1,
    () => ({ low: 3.5, high: 5.2 }),
  ),
  cholesterol: lab(
    'cholesterol',
    '2093-3',
    'Cholesterol [Mass/volume] in Serum or Plasma',
    'Total cholesterol',
    'mg/dL',
    'mg/dL',
    0,
    () => ({ high: 199 }),
  ),
  hdl: lab(
    'hdl',
    '2085-9',
    'Cholesterol in HDL [Mass/volume] in Serum or Plasma',
    'HDL',
    'mg/dL',
    'mg/dL',
    0,
    (f) => ({ low: f ? 50 : 40 }),
  ),
  triglycerides: lab(
    'triglycerides',
    '2571-8',
    'Triglyceride [Mass/volume] in Serum or Plasma',
    'Triglycerides',
    'mg/dL',
    'mg/dL',
    0,
    () => ({ high: 149 }),
  ),
  ldl: lab(
    'ldl',
    '13457-7',
    'Cholesterol in LDL [Mass/volume] in Serum or Plasma by calculation',
    'LDL',
    'mg/dL',
    'mg/dL',
    0,
    () => ({ high: 99 }),
  ),
  hemoglobin: lab(
    'hemoglobin',
    '718-7',
    'Hemoglobin [Mass/volume] in Blood',
    'Hemoglobin',
    'g/dL',
    'g/dL',
    1,
    (f) => (f ? { low: 11.1, high: 15.9 } : { low: 13.0, high: 17.7 }),
  ),
  wbc: lab(
    'wbc',
    '6690-2',
    'Leukocytes [#/volume] in Blood by Automated count',
    'WBC',
    '10*3/uL',
    '10*3/uL',
    1,
    () => ({ low: 3.4, high: 10.8 }),
  ),
  platelets: lab(
    'platelets',
    '777-3',
    'Platelets [#/volume] in Blood by Automated count',
    'Platelets',
    '10*3/uL',
    '10*3/uL',
    0,
    () => ({
      low: 150,
      high: 450,
    }),
  ),
  tsh: lab(
    'tsh',
    '3016-3',
    'Thyrotropin [Units/volume] in Serum or Plasma',
    'TSH',
    'mIU/L',
    'm[IU]/L',
    2,
    () => ({ low: 0.45, high: 4.5 }),
  ),
};

export type PanelKey = 'bmp' | 'lipid' | 'a1c' | 'cbc' | 'tsh';

export interface PanelDef {
  key: PanelKey;
  loinc: string;
  display: string;
  /** What the note calls it. */
  short: string;
  /** v2-0074 diagnostic service section: chemistry or hematology. */
  section: 'CH' | 'HM';
  tests: LabKey[];
}

export const PANELS: Record<PanelKey, PanelDef> = {
  bmp: {
    key: 'bmp',
    short: 'BMP',
    loinc: '51990-0',
    display: 'Basic metabolic panel - Blood',
    section: 'CH',
    tests: ['glucose', 'bun', 'creatinine', 'egfr', 'sodium', 'potassium'],
  },
  lipid: {
    key: 'lipid',
    short: 'lipid panel',
    loinc: '24331-1',
    display: 'Lipid 1996 panel - Serum or Plasma',
    section: 'CH',
    tests: ['cholesterol', 'triglycerides', 'hdl', 'ldl'],
  },
  a1c: {
    key: 'a1c',
    short: 'HbA1c',
    loinc: '4548-4',
    display: 'Hemoglobin A1c/Hemoglobin.total in Blood',
    section: 'CH',
    tests: ['a1c'],
  },
  cbc: {
    key: 'cbc',
    short: 'CBC',
    loinc: '58410-2',
    display: 'CBC panel - Blood by Automated count',
    section: 'HM',
    tests: ['hemoglobin', 'wbc', 'platelets'],
  },
  tsh: {
    key: 'tsh',
    short: 'TSH',
    loinc: '3016-3',
    display: 'Thyrotropin [Units/volume] in Serum or Plasma',
    section: 'CH',
    tests: ['tsh'],
  },
};

// ---------------------------------------------------------------------------------------------
// Visits, referrals, roles

export type VisitKind = 'wellness' | 'wellChild' | 'followUp' | 'acute' | 'nurseVaccine';

/** Encounter.type per kind of visit (SNOMED CT procedures used for ambulatory encounters). */
export const ENCOUNTER_TYPES: Record<VisitKind, { snomed: string; display: string; title: string }> = {
  wellness: {
    snomed: '162673000',
    display: 'General examination of patient (procedure)',
    title: 'Annual physical',
  },
  wellChild: { snomed: '410620009', display: 'Well child visit (procedure)', title: 'Well-child visit' },
  followUp: { snomed: '390906007', display: 'Follow-up encounter (procedure)', title: 'Follow-up visit' },
  acute: { snomed: '185345009', display: 'Encounter for symptom (procedure)', title: 'Same-day visit' },
  nurseVaccine: {
    snomed: '33879002',
    display: 'Administration of vaccine to produce active immunity (procedure)',
    title: 'Nurse visit: vaccination',
  },
};

/** v2-0276 appointment reason codes per kind of visit. */
export const APPOINTMENT_TYPES: Record<VisitKind, { code: string; display: string }> = {
  wellness: { code: 'CHECKUP', display: 'A routine check-up, such as an annual physical' },
  wellChild: { code: 'CHECKUP', display: 'A routine check-up, such as an annual physical' },
  followUp: { code: 'FOLLOWUP', display: 'A follow up visit from a previous appointment' },
  acute: { code: 'WALKIN', display: 'A previously unscheduled walk-in visit' },
  nurseVaccine: { code: 'ROUTINE', display: 'Routine appointment - default if not valued' },
};

export type SpecialtyKey =
  | 'cardiology'
  | 'endocrinology'
  | 'dermatology'
  | 'physicalTherapy'
  | 'orthopedics'
  | 'behavioralHealth'
  | 'nephrology';

export interface SpecialtyDef {
  key: SpecialtyKey;
  /** What the referral is called on the chart: `Referral to cardiology`. */
  service: string;
  /** c80-practice-codes specialty (SNOMED CT), for PractitionerRole.specialty and performerType. */
  specialty: { snomed: string; display: string };
  /** The specialist's occupation (SNOMED CT), for CareTeam roles. */
  occupation: { snomed: string; display: string };
  organization: string;
  clinician: { gender: 'male' | 'female'; credential: 'MD' | 'DO' | 'PT'; degree: string };
  consultFindings: string[];
  recommendations: string[];
}

export const SPECIALTIES: Record<SpecialtyKey, SpecialtyDef> = {
  cardiology: {
    key: 'cardiology',
    service: 'cardiology',
    specialty: { snomed: '394579002', display: 'Cardiology' },
    occupation: { snomed: '17561000', display: 'Cardiologist' },
    organization: 'Lakeside Cardiology Associates',
    clinician: { gender: 'female', credential: 'MD', degree: 'Doctor of Medicine' },
    consultFindings: [
      'ECG shows rate-controlled atrial fibrillation. Echocardiogram: normal LV size, EF 55-60%, mild left atrial enlargement.',
      'Holter monitor: atrial fibrillation throughout, average rate 78, no pauses. Echo with preserved ejection fraction.',
    ],
    recommendations: [
      'Continue rate control. CHA2DS2-VASc reviewed; continue anticoagulation. Follow up in cardiology in 6 months.',
      'Rate control adequate. Reinforced anticoagulation adherence and INR monitoring. Return in 1 year or sooner with symptoms.',
    ],
  },
  endocrinology: {
    key: 'endocrinology',
    service: 'endocrinology',
    specialty: { snomed: '394583002', display: 'Endocrinology' },
    occupation: { snomed: '61894003', display: 'Endocrinologist' },
    organization: 'Northfield Endocrine & Diabetes Center',
    clinician: { gender: 'male', credential: 'MD', degree: 'Doctor of Medicine' },
    consultFindings: [
      'Type 2 diabetes above goal on metformin. No hypoglycemia. Foot exam normal; last eye exam over a year ago.',
      'Glycemic control suboptimal with post-prandial excursions on home log. Normal monofilament exam.',
    ],
    recommendations: [
      'Increase metformin as tolerated; diabetes education referral; repeat HbA1c in 3 months; annual retinal exam.',
      'Add structured nutrition counseling and home glucose monitoring; consider a GLP-1 receptor agonist if HbA1c remains above 8%.',
    ],
  },
  dermatology: {
    key: 'dermatology',
    service: 'dermatology',
    specialty: { snomed: '394582007', display: 'Dermatology' },
    occupation: { snomed: '18803008', display: 'Dermatologist' },
    organization: 'Riverbend Dermatology',
    clinician: { gender: 'female', credential: 'DO', degree: 'Doctor of Osteopathy' },
    consultFindings: [
      'Lichenified eczematous plaques in the antecubital and popliteal fossae, consistent with atopic dermatitis.',
      'Chronic atopic dermatitis with excoriations; no signs of secondary infection.',
    ],
    recommendations: [
      'Daily emollients, mid-potency topical steroid for flares, dilute bleach baths twice weekly. Return in 3 months.',
      'Topical calcineurin inhibitor for face and folds; consider dupilumab if flares remain frequent.',
    ],
  },
  physicalTherapy: {
    key: 'physicalTherapy',
    service: 'physical therapy',
    specialty: { snomed: '394602003', display: 'Rehabilitation' },
    occupation: { snomed: '36682004', display: 'Physiotherapist' },
    organization: 'Summit Physical Therapy',
    clinician: { gender: 'male', credential: 'PT', degree: 'Doctor of Physical Therapy' },
    consultFindings: [
      'Reduced knee flexion (0-115°), quadriceps weakness 4/5, antalgic gait.',
      'Lumbar flexion limited by pain, core weakness, no radicular signs.',
    ],
    recommendations: [
      'Twice-weekly therapy for 6 weeks with a home exercise program; reassess function at discharge.',
      'Eight sessions focused on strengthening and graded activity; home program provided.',
    ],
  },
  orthopedics: {
    key: 'orthopedics',
    service: 'orthopedics',
    specialty: { snomed: '394801008', display: 'Surgery-Trauma and orthopedics' },
    occupation: { snomed: '22731001', display: 'Orthopedic surgeon' },
    organization: 'Stonebridge Orthopedics',
    clinician: { gender: 'male', credential: 'MD', degree: 'Doctor of Medicine' },
    consultFindings: [
      'Standing knee radiographs: moderate medial joint-space narrowing with osteophytes. No effusion today.',
      'Tricompartmental osteoarthritis on imaging, mild varus alignment, stable ligaments.',
    ],
    recommendations: [
      'Continue physical therapy and weight management; corticosteroid injection given today. Not a surgical candidate at this time.',
      'Trial of unloader brace; consider viscosupplementation. Revisit total knee arthroplasty if function declines.',
    ],
  },
  behavioralHealth: {
    key: 'behavioralHealth',
    service: 'behavioral health',
    specialty: { snomed: '394913002', display: 'Psychotherapy' },
    occupation: { snomed: '59944000', display: 'Psychologist' },
    organization: 'Harmony Behavioral Health',
    clinician: { gender: 'female', credential: 'MD', degree: 'Doctor of Medicine' },
    consultFindings: [
      'PHQ-9 of 14 at intake, no suicidal ideation, good social support.',
      'GAD-7 of 12 at intake; sleep disturbance and work stress are the main drivers.',
    ],
    recommendations: [
      'Weekly cognitive behavioral therapy for 12 sessions; continue primary-care follow-up of medication if started.',
      'CBT with sleep-focused interventions; re-screen in 8 weeks and share scores with primary care.',
    ],
  },
  nephrology: {
    key: 'nephrology',
    service: 'nephrology',
    specialty: { snomed: '394589003', display: 'Nephrology' },
    occupation: { snomed: '11911009', display: 'Nephrologist' },
    organization: 'Crestview Kidney Care',
    clinician: { gender: 'male', credential: 'DO', degree: 'Doctor of Osteopathy' },
    consultFindings: [
      'CKD stage 3a, likely hypertensive and diabetic nephropathy; urine albumin-to-creatinine ratio mildly elevated.',
      'Stable eGFR over two years; renal ultrasound with normal-sized kidneys, no obstruction.',
    ],
    recommendations: [
      'Blood pressure goal under 130/80, continue ACE inhibitor, avoid NSAIDs, labs every 6 months.',
      'Consider an SGLT2 inhibitor for renal protection; annual nephrology review.',
    ],
  },
};

/** LOINC document types for DocumentReference.type. */
export const DOCUMENT_TYPES = {
  progressNote: { loinc: '11506-3', display: 'Progress note' },
  nurseNote: { loinc: '34746-8', display: 'Nurse Note' },
  consultNote: { loinc: '11488-4', display: 'Consult note' },
  advanceDirective: { loinc: '42348-3', display: 'Advance directives' },
};

/** SNOMED CT occupations used as roles on care teams and practitioner roles. */
export const OCCUPATIONS = {
  primaryCarePhysician: { snomed: '446050000', display: 'Primary care physician' },
  physician: { snomed: '309343006', display: 'Physician' },
  nursePractitioner: { snomed: '224571005', display: 'Nurse practitioner' },
  physicianAssistant: { snomed: '449161006', display: 'Physician assistant' },
  registeredNurse: { snomed: '224535009', display: 'Registered nurse' },
  patient: { snomed: '116154003', display: 'Patient' },
};

export const FAMILY_PRACTICE = { snomed: '419772000', display: 'Family practice' };
