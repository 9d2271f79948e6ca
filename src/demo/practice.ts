/**
 * The practice itself: the Organization, its two sites, its clinicians and staff (Practitioner with
 * PractitionerRole), one Schedule per clinician, and the outside specialists and laboratory that
 * referrals and lab results point to.
 */
import type { Resource } from '../fhir/types.ts';
import { addDays } from './calendar.ts';
import {
  FAMILY_PRACTICE,
  OCCUPATIONS,
  SPECIALTIES,
  type SpecialtyDef,
  type SpecialtyKey,
} from './clinicalCatalog.ts';
import { at, type DemoContext } from './context.ts';
import { concept, ref, SYSTEMS } from './elements.ts';
import { displayName, personName, type PersonName, type PostalAddress } from './names.ts';
import type { Random } from './random.ts';

export const PRACTICE_NAME = 'Brightwater Family Medicine';

export interface Site {
  id: string;
  name: string;
  address: PostalAddress;
  phone: string;
}

export type ClinicianKind = 'physician' | 'nursePractitioner' | 'physicianAssistant';

export interface Clinician {
  /** 1-based, stable: used in ids and for the weekend rota. */
  number: number;
  practitionerId: string;
  roleId: string;
  scheduleId: string;
  name: PersonName;
  gender: 'male' | 'female';
  credential: 'MD' | 'DO' | 'NP' | 'PA';
  kind: ClinicianKind;
  /** `Ava Brennan, MD`: how the schedule and notes name them. */
  title: string;
  site: Site;
}

export type StaffKind = 'nurse' | 'medicalAssistant' | 'frontDesk' | 'practiceManager';

export interface StaffMember {
  practitionerId: string;
  roleId: string;
  kind: StaffKind;
  title: string;
}

export interface Specialist {
  def: SpecialtyDef;
  organizationId: string;
  practitionerId: string;
  title: string;
}

export interface Practice {
  organizationId: string;
  labOrganizationId: string;
  sites: Site[];
  clinicians: Clinician[];
  staff: Record<StaffKind, StaffMember>;
  specialists: Record<SpecialtyKey, Specialist>;
  resources: Resource[];
}

/**
 * A US National Provider Identifier: 9 digits starting with 1 plus a Luhn check digit computed
 * with the 80840 prefix, as CMS specifies, so NPI validators accept it.
 */
export function npi(rng: Random): string {
  const base = `1${rng.digits(8)}`;
  const payload = `80840${base}`;
  let sum = 0;
  for (let i = 0; i < payload.length; i++) {
    let d = Number(payload[payload.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return `${base}${(10 - (sum % 10)) % 10}`;
}

const DEGREES: Record<string, string> = {
  MD: 'Doctor of Medicine',
  DO: 'Doctor of Osteopathy',
  NP: 'Nurse Practitioner',
  PA: 'Physician Assistant',
  RN: 'Registered Nurse',
  CMA: 'Certified Medical Assistant',
};

const CLINICIAN_PLAN: {
  kind: ClinicianKind;
  credential: Clinician['credential'];
  gender: 'male' | 'female';
  site: 0 | 1;
}[] = [
  { kind: 'physician', credential: 'MD', gender: 'female', site: 0 },
  { kind: 'physician', credential: 'DO', gender: 'male', site: 0 },
  { kind: 'physician', credential: 'MD', gender: 'male', site: 0 },
  { kind: 'nursePractitioner', credential: 'NP', gender: 'female', site: 0 },
  { kind: 'physicianAssistant', credential: 'PA', gender: 'male', site: 1 },
];

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri'];
const WEEKEND = ['sat', 'sun'];

function workAddress(ctx: DemoContext, line: string, city: string, zipSuffix: string): PostalAddress {
  return {
    line: [line],
    city,
    state: ctx.region.state,
    postalCode: `${ctx.region.zipPrefix}${zipSuffix}`,
    country: 'US',
  };
}

const telecom = (phone: string, emailAddress?: string) => [
  { system: 'phone', value: phone, use: 'work' },
  ...(emailAddress ? [{ system: 'email', value: emailAddress, use: 'work' }] : []),
];

const emailFor = (name: PersonName, domain: string) =>
  `${name.given[0][0]}.${name.family}@${domain}`.toLowerCase().replace(/[^a-z.@-]/g, '');

function organization(
  id: string,
  name: string,
  address: PostalAddress,
  phone: string,
  rng: Random,
  website?: string,
): Resource {
  return {
    resourceType: 'Organization',
    id,
    identifier: [{ use: 'official', system: SYSTEMS.npi, value: npi(rng) }],
    active: true,
    type: [concept(SYSTEMS.orgType, 'prov', 'Healthcare Provider')],
    name,
    telecom: [
      { system: 'phone', value: phone, use: 'work' },
      ...(website ? [{ system: 'url', value: website, use: 'work' }] : []),
    ],
    address: [{ use: 'work', type: 'both', ...address }],
  };
}

function practitioner(
  id: string,
  name: PersonName,
  gender: 'male' | 'female',
  identifier: { system: string; value: string },
  contact: { phone: string; email: string },
  qualification?: { code: string; issuer: string; license: string; since: string },
): Resource {
  const credential = qualification?.code;
  return {
    resourceType: 'Practitioner',
    id,
    identifier: [{ use: 'official', ...identifier }],
    active: true,
    name: [
      {
        use: 'official',
        text: credential ? `${displayName(name)}, ${credential}` : displayName(name),
        family: name.family,
        given: name.given,
        ...(credential === 'MD' || credential === 'DO' ? { prefix: ['Dr.'] } : {}),
        ...(credential ? { suffix: [credential] } : {}),
      },
    ],
    telecom: telecom(contact.phone, contact.email),
    gender,
    ...(qualification
      ? {
          qualification: [
            {
              identifier: [{ system: `urn:chartvault:demo:license`, value: qualification.license }],
              code: concept(SYSTEMS.v2Degree, qualification.code, DEGREES[qualification.code]),
              period: { start: qualification.since },
              issuer: { display: qualification.issuer },
            },
          ],
        }
      : {}),
  };
}

export function buildPractice(ctx: DemoContext): Practice {
  const rng = ctx.rng.fork('practice');
  const { region } = ctx;
  const domain = 'brightwater-family.example';
  const resources: Resource[] = [];
  const organizationId = 'demo-org-practice';

  const sites: Site[] = [
    {
      id: 'demo-loc-main',
      name: `${PRACTICE_NAME} - Main Street Clinic`,
      address: workAddress(ctx, '210 Main St, Suite 100', 'Brightwater', '300'),
      phone: `${region.areaCodes[0]}-555-0100`,
    },
    {
      id: 'demo-loc-millbrook',
      name: `${PRACTICE_NAME} - Millbrook Office`,
      address: workAddress(ctx, '48 Orchard Rd', 'Millbrook', '307'),
      phone: `${region.areaCodes[0]}-555-0101`,
    },
  ];

  resources.push(
    organization(
      organizationId,
      PRACTICE_NAME,
      sites[0].address,
      sites[0].phone,
      rng,
      `https://www.${domain}`,
    ),
  );

  for (const site of sites) {
    resources.push({
      resourceType: 'Location',
      id: site.id,
      status: 'active',
      name: site.name,
      description:
        site.id === 'demo-loc-main'
          ? 'Main clinic: 8 exam rooms, lab draw station.'
          : 'Satellite office: 3 exam rooms.',
      mode: 'instance',
      type: [concept(SYSTEMS.v3RoleCode, 'FMC', 'Family medicine clinic')],
      telecom: telecom(site.phone),
      address: { use: 'work', type: 'both', ...site.address },
      physicalType: concept('http://terminology.hl7.org/CodeSystem/location-physical-type', 'bu', 'Building'),
      managingOrganization: ref('Organization', organizationId, PRACTICE_NAME),
      hoursOfOperation: [
        { daysOfWeek: WEEKDAYS, openingTime: '08:00:00', closingTime: '17:00:00' },
        { daysOfWeek: WEEKEND, openingTime: '09:00:00', closingTime: '15:00:00' },
      ],
    });
  }

  const clinicians: Clinician[] = CLINICIAN_PLAN.map((plan, i) => {
    const number = i + 1;
    const name = personName(rng, plan.gender);
    return {
      number,
      practitionerId: `demo-prac-${String(number).padStart(2, '0')}`,
      roleId: `demo-role-${String(number).padStart(2, '0')}`,
      scheduleId: `demo-sched-${String(number).padStart(2, '0')}`,
      name,
      gender: plan.gender,
      credential: plan.credential,
      kind: plan.kind,
      title: `${displayName(name)}, ${plan.credential}`,
      site: sites[plan.site],
    };
  });

  const boards: Record<string, string> = {
    MD: 'State Board of Medicine',
    DO: 'State Board of Osteopathic Medicine',
    NP: 'State Board of Nursing',
    PA: 'State Board of Medicine',
    RN: 'State Board of Nursing',
    CMA: 'American Association of Medical Assistants',
  };
  const qualify = (code: string) => ({
    code,
    issuer: code === 'CMA' ? boards.CMA : `${region.stateName} ${boards[code]}`,
    license: `${code}${rng.digits(6)}`,
    since: `${rng.int(2002, 2019)}-0${rng.int(1, 9)}-01`,
  });

  const roleCodes: Record<ClinicianKind, object[]> = {
    physician: [
      concept(SYSTEMS.practitionerRole, 'doctor', 'Doctor'),
      concept(SYSTEMS.snomed, OCCUPATIONS.physician.snomed, OCCUPATIONS.physician.display),
    ],
    nursePractitioner: [
      concept(SYSTEMS.practitionerRole, 'nurse', 'Nurse'),
      concept(SYSTEMS.snomed, OCCUPATIONS.nursePractitioner.snomed, OCCUPATIONS.nursePractitioner.display),
    ],
    physicianAssistant: [
      concept(SYSTEMS.snomed, OCCUPATIONS.physicianAssistant.snomed, OCCUPATIONS.physicianAssistant.display),
    ],
  };

  for (const c of clinicians) {
    resources.push(
      practitioner(
        c.practitionerId,
        c.name,
        c.gender,
        { system: SYSTEMS.npi, value: npi(rng) },
        { phone: c.site.phone, email: emailFor(c.name, domain) },
        qualify(c.credential),
      ),
    );
  }

  const staffPlan: { kind: StaffKind; gender: 'male' | 'female'; credential?: string; role: object[] }[] = [
    {
      kind: 'nurse',
      gender: 'female',
      credential: 'RN',
      role: [
        concept(SYSTEMS.practitionerRole, 'nurse', 'Nurse'),
        concept(
          SYSTEMS.snomed,
          OCCUPATIONS.registeredNurse.snomed,
          OCCUPATIONS.registeredNurse.display,
          'Registered nurse, care coordinator',
        ),
      ],
    },
    { kind: 'medicalAssistant', gender: 'male', credential: 'CMA', role: [{ text: 'Medical assistant' }] },
    { kind: 'frontDesk', gender: 'female', role: [{ text: 'Front desk and scheduling' }] },
    { kind: 'practiceManager', gender: 'female', role: [{ text: 'Practice manager and security official' }] },
  ];
  const staff = {} as Record<StaffKind, StaffMember>;
  staffPlan.forEach((plan, i) => {
    const n = String(i + 1).padStart(2, '0');
    const name = personName(rng, plan.gender);
    const member: StaffMember = {
      practitionerId: `demo-staff-${n}`,
      roleId: `demo-staff-role-${n}`,
      kind: plan.kind,
      title: plan.credential ? `${displayName(name)}, ${plan.credential}` : displayName(name),
    };
    staff[plan.kind] = member;
    resources.push(
      practitioner(
        member.practitionerId,
        name,
        plan.gender,
        { system: SYSTEMS.staffId, value: `S${rng.digits(5)}` },
        { phone: sites[0].phone, email: emailFor(name, domain) },
        plan.credential ? qualify(plan.credential) : undefined,
      ),
    );
    resources.push({
      resourceType: 'PractitionerRole',
      id: member.roleId,
      active: true,
      practitioner: ref('Practitioner', member.practitionerId, member.title),
      organization: ref('Organization', organizationId, PRACTICE_NAME),
      code: plan.role,
      location: [ref('Location', sites[0].id, sites[0].name)],
      availableTime: [{ daysOfWeek: WEEKDAYS, availableStartTime: '07:30:00', availableEndTime: '17:30:00' }],
      telecom: telecom(sites[0].phone),
    });
  });

  for (const c of clinicians) {
    resources.push({
      resourceType: 'PractitionerRole',
      id: c.roleId,
      active: true,
      period: { start: `${rng.int(2012, 2021)}-0${rng.int(1, 9)}-01` },
      practitioner: ref('Practitioner', c.practitionerId, c.title),
      organization: ref('Organization', organizationId, PRACTICE_NAME),
      code: roleCodes[c.kind],
      specialty: [concept(SYSTEMS.snomed, FAMILY_PRACTICE.snomed, FAMILY_PRACTICE.display)],
      location: [ref('Location', c.site.id, c.site.name)],
      availableTime: [
        { daysOfWeek: WEEKDAYS, availableStartTime: '08:00:00', availableEndTime: '17:00:00' },
        { daysOfWeek: WEEKEND, availableStartTime: '09:00:00', availableEndTime: '15:00:00' },
      ],
      notAvailable: [
        { description: 'Lunch 12:00-13:00 on weekdays; weekend clinic on a rota of three clinicians' },
      ],
      telecom: telecom(c.site.phone),
    });
  }

  // Outside organizations the chart points to: one laboratory and a specialist per referral kind.
  const labOrganizationId = 'demo-org-lab';
  resources.push(
    organization(
      labOrganizationId,
      'Meridian Clinical Laboratory',
      workAddress(ctx, '5 Commerce Park Dr', 'Ravensford', '356'),
      `${region.areaCodes[0]}-555-0110`,
      rng,
    ),
  );

  const specialists = {} as Record<SpecialtyKey, Specialist>;
  const specialtyKeys = Object.keys(SPECIALTIES) as SpecialtyKey[];
  specialtyKeys.forEach((key, i) => {
    const def = SPECIALTIES[key];
    const organizationId = `demo-org-${key.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`)}`;
    const practitionerId = `demo-spec-${String(i + 1).padStart(2, '0')}`;
    const phone = `${region.areaCodes[0]}-555-01${20 + i}`;
    const address = workAddress(
      ctx,
      `${100 + i * 37} Medical Park Dr`,
      i % 2 ? 'Ravensford' : 'Thornbury',
      String(340 + i),
    );
    const name = personName(rng, def.clinician.gender);
    const title = `${displayName(name)}, ${def.clinician.credential}`;
    specialists[key] = { def, organizationId, practitionerId, title };
    resources.push(organization(organizationId, def.organization, address, phone, rng));
    resources.push({
      resourceType: 'Practitioner',
      id: practitionerId,
      identifier: [{ use: 'official', system: SYSTEMS.npi, value: npi(rng) }],
      active: true,
      name: [
        {
          use: 'official',
          text: title,
          family: name.family,
          given: name.given,
          ...(def.clinician.credential === 'PT' ? {} : { prefix: ['Dr.'] }),
          suffix: [def.clinician.credential],
        },
      ],
      telecom: telecom(phone),
      gender: def.clinician.gender,
    });
    resources.push({
      resourceType: 'PractitionerRole',
      id: `demo-spec-role-${String(i + 1).padStart(2, '0')}`,
      active: true,
      practitioner: ref('Practitioner', practitionerId, title),
      organization: ref('Organization', organizationId, def.organization),
      code: [concept(SYSTEMS.snomed, def.occupation.snomed, def.occupation.display)],
      specialty: [concept(SYSTEMS.snomed, def.specialty.snomed, def.specialty.display)],
      telecom: telecom(phone),
    });
  });

  // One Schedule per clinician, covering the two weeks of bookable slots the demo generates.
  for (const c of clinicians) {
    resources.push({
      resourceType: 'Schedule',
      id: c.scheduleId,
      active: true,
      serviceCategory: [concept(SYSTEMS.serviceCategory, '17', 'General Practice')],
      serviceType: [concept(SYSTEMS.serviceType, '124', 'General Practice')],
      specialty: [concept(SYSTEMS.snomed, FAMILY_PRACTICE.snomed, FAMILY_PRACTICE.display)],
      actor: [ref('Practitioner', c.practitionerId, c.title), ref('Location', c.site.id, c.site.name)],
      planningHorizon: { start: at(ctx, ctx.today, 0), end: at(ctx, addDays(ctx.today, 14), 0) },
      comment:
        'Weekdays 08:00-17:00 in 20-minute slots (lunch 12:00-13:00); weekend clinic 09:00-15:00 in 15-minute slots on a rota.',
    });
  }

  return { organizationId, labOrganizationId, sites, clinicians, staff, specialists, resources };
}

export const practiceRef = (practice: Practice) =>
  ref('Organization', practice.organizationId, PRACTICE_NAME);
export const clinicianRef = (c: Clinician) => ref('Practitioner', c.practitionerId, c.title);
