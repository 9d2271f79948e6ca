/**
 * Roles: what kind of work a person (or a registered system) does at the practice. Each account has
 * exactly one; what a role may do is in permissions.ts.
 */
export const ROLES = ['physician', 'nurse', 'front-desk', 'billing', 'security-officer', 'system'] as const;
export type Role = (typeof ROLES)[number];

/** Roles a person can hold (the `system` role is for registered clients only). */
export const HUMAN_ROLES = ROLES.filter((role) => role !== 'system') as Exclude<Role, 'system'>[];
export type HumanRole = (typeof HUMAN_ROLES)[number];

export const ROLE_DESCRIPTIONS: Record<Role, string> = {
  physician: 'physicians and other licensed prescribers: the whole chart',
  nurse: 'nurses and medical assistants: the chart, without deleting clinical records',
  'front-desk': 'reception and scheduling: demographics, coverage and the schedule, no notes or results',
  billing: 'billing staff: coverage, claims, accounts and encounters, no notes or results',
  'security-officer':
    "the practice's security point person: audit trail and account administration, no clinical data",
  system: 'registered systems (OAuth clients): limited by the scopes they were registered with',
};

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export function isHumanRole(value: string): value is HumanRole {
  return (HUMAN_ROLES as readonly string[]).includes(value);
}

/**
 * Who is acting. `user`: a named person (signed in, or through an app with a SMART token); `client`:
 * a registered system; `operator`: someone at the server's own console running the CLI, attributed
 * to the operating-system user. `scopes` is present when the principal acts through an access token,
 * and then narrows what the role allows.
 */
export interface Principal {
  kind: 'user' | 'client' | 'operator';
  /** The account's user name, the client id, or user@host for an operator. */
  id: string;
  role: Role;
  scopes?: string[];
  /** The patient in context of a token with `patient/` scopes: the only patient it may reach. */
  patient?: string;
  /** A person's Practitioner id (accounts.ts), which puts them on care teams. */
  practitioner?: string;
}
