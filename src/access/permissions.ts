/**
 * The permission matrix (role x resource type x interaction) and the one function every entry point
 * (FHIR API, web app, CLI) asks: `decide`. Resource types are grouped into categories so that the
 * matrix stays readable; a type in no category counts as clinical data, so that a type added later is
 * closed to the roles that must not see the chart until someone decides otherwise. docs/permissions.md
 * is generated from this data (permissionTable.ts) and a test fails when the two disagree.
 */
import { INTERACTIONS, INTERACTION_LETTERS, type Interaction } from './interactions.ts';
import { ROLES, type Principal, type Role } from './roles.ts';
import { parseScopes, scopesAllow, type ParsedScope } from './scopes.ts';

export { INTERACTIONS, type Interaction } from './interactions.ts';

export const CATEGORIES = [
  'demographics',
  'schedule',
  'coverage',
  'directory',
  'billing',
  'encounters',
  'clinical',
  'reference',
  'audit',
  'administration',
] as const;
export type Category = (typeof CATEGORIES)[number];

/** Which resource types belong to which category. Types not listed are `clinical`. */
export const CATEGORY_TYPES: Record<Exclude<Category, 'clinical'>, readonly string[]> & {
  clinical: readonly string[];
} = {
  demographics: ['Patient', 'RelatedPerson', 'Person'],
  schedule: ['Appointment', 'AppointmentResponse', 'Schedule', 'Slot'],
  coverage: [
    'Coverage',
    'CoverageEligibilityRequest',
    'CoverageEligibilityResponse',
    'EnrollmentRequest',
    'EnrollmentResponse',
  ],
  directory: [
    'Practitioner',
    'PractitionerRole',
    'Organization',
    'OrganizationAffiliation',
    'Location',
    'HealthcareService',
    'Endpoint',
  ],
  billing: [
    'Account',
    'ChargeItem',
    'ChargeItemDefinition',
    'Claim',
    'ClaimResponse',
    'ExplanationOfBenefit',
    'Invoice',
    'PaymentNotice',
    'PaymentReconciliation',
  ],
  encounters: ['Encounter', 'EpisodeOfCare'],
  /** Named for the documentation; every type outside the other categories is clinical too. */
  clinical: [
    'Observation',
    'DiagnosticReport',
    'DocumentReference',
    'Condition',
    'AllergyIntolerance',
    'MedicationRequest',
    'MedicationStatement',
    'MedicationAdministration',
    'Immunization',
    'Procedure',
    'CarePlan',
    'CareTeam',
    'ServiceRequest',
    'Task',
    'Composition',
    'Communication',
  ],
  reference: [
    'Medication',
    'Questionnaire',
    'ValueSet',
    'CodeSystem',
    'ConceptMap',
    'StructureDefinition',
    'SearchParameter',
    'CapabilityStatement',
    'OperationDefinition',
    'PlanDefinition',
    'ActivityDefinition',
  ],
  audit: ['AuditEvent'],
  /** Not FHIR types: the account and client administration of the access layer. */
  administration: ['$accounts', '$clients'],
};

const TYPE_CATEGORY = new Map<string, Category>(
  (Object.entries(CATEGORY_TYPES) as [Category, readonly string[]][]).flatMap(([category, types]) =>
    types.map((type) => [type, category] as const),
  ),
);

export function categoryOf(resourceType: string): Category {
  return TYPE_CATEGORY.get(resourceType) ?? 'clinical';
}

/** Interactions as letters (see INTERACTION_LETTERS), e.g. 'rsh' = read, search, history. */
type Letters = string;

/**
 * The matrix. Nobody creates, updates or deletes AuditEvents through the API: the audit chain writes
 * them and no one edits them. Export (Bulk Data) is for registered systems only.
 */
export const PERMISSIONS: Record<Role, Record<Category, Letters>> = {
  physician: {
    demographics: 'rscuh',
    schedule: 'rscudh',
    coverage: 'rsh',
    directory: 'rsh',
    billing: '',
    encounters: 'rscuh',
    clinical: 'rscudh',
    reference: 'rsh',
    audit: '',
    administration: '',
  },
  nurse: {
    demographics: 'rscuh',
    schedule: 'rscudh',
    coverage: 'rsh',
    directory: 'rsh',
    billing: '',
    encounters: 'rscuh',
    clinical: 'rscuh',
    reference: 'rsh',
    audit: '',
    administration: '',
  },
  'front-desk': {
    demographics: 'rscuh',
    schedule: 'rscudh',
    coverage: 'rscuh',
    directory: 'rsh',
    billing: '',
    encounters: '',
    clinical: '',
    reference: 'rs',
    audit: '',
    administration: '',
  },
  billing: {
    demographics: 'rsh',
    schedule: '',
    coverage: 'rscuh',
    directory: 'rsh',
    billing: 'rscudh',
    encounters: 'rsh',
    clinical: '',
    reference: 'rs',
    audit: '',
    administration: '',
  },
  'security-officer': {
    demographics: '',
    schedule: '',
    coverage: '',
    directory: 'rs',
    billing: '',
    encounters: '',
    clinical: '',
    reference: '',
    audit: 'rs',
    administration: 'rscud',
  },
  system: {
    demographics: 'rscudhe',
    schedule: 'rscudhe',
    coverage: 'rscudhe',
    directory: 'rscudhe',
    billing: 'rscudhe',
    encounters: 'rscudhe',
    clinical: 'rscudhe',
    reference: 'rscudhe',
    audit: 'rshe',
    administration: '',
  },
};

export function roleAllows(role: Role, interaction: Interaction, resourceType: string): boolean {
  return PERMISSIONS[role][categoryOf(resourceType)].includes(INTERACTION_LETTERS[interaction]);
}

export interface Decision {
  allowed: boolean;
  /** Why, for the audit entry and the 403 message (no patient data in it). */
  reason: string;
}

/**
 * May `principal` do `interaction` on `resourceType`? The role's permissions, narrowed by the token's
 * scopes when the principal acts through a token: both must allow it.
 */
export function decide(principal: Principal, interaction: Interaction, resourceType: string): Decision {
  if (!(ROLES as readonly string[]).includes(principal.role)) {
    return { allowed: false, reason: `unknown role ${principal.role}` };
  }
  if (!roleAllows(principal.role, interaction, resourceType)) {
    return {
      allowed: false,
      reason: `the ${principal.role} role may not ${interaction} ${resourceType} (${categoryOf(resourceType)})`,
    };
  }
  if (principal.scopes !== undefined) {
    if (!scopesAllow(resourceScopesOf(principal.scopes), interaction, resourceType)) {
      return {
        allowed: false,
        reason: `the granted scopes do not include ${interaction} on ${resourceType}`,
      };
    }
  }
  return { allowed: true, reason: `${principal.role} may ${interaction} ${resourceType}` };
}

/** A principal's scopes, parsed once per principal (a request asks `decide` several times). */
const parsedScopes = new WeakMap<string[], ParsedScope[]>();

export function resourceScopesOf(scopes: string[]): ParsedScope[] {
  let parsed = parsedScopes.get(scopes);
  if (!parsed) {
    parsed = parseScopes(scopes.join(' ')).resourceScopes;
    parsedScopes.set(scopes, parsed);
  }
  return parsed;
}

/** What `principal` may do on `resourceType`: the intersection of role and scopes, as a set. */
export function allowedInteractions(principal: Principal, resourceType: string): Set<Interaction> {
  return new Set(INTERACTIONS.filter((interaction) => decide(principal, interaction, resourceType).allowed));
}
