/**
 * Restricted charts and breaking the glass. A patient whose record carries the confidentiality label
 * `R` (restricted) or `V` (very restricted) in `Patient.meta.security` is seen only by their care
 * team: the practitioners named in `Patient.generalPractitioner` and the members of the patient's
 * CareTeams that are not inactive or entered in error, matched to a person through the Practitioner
 * their account is linked to. Anyone else whose role may read the chart can break the glass: give a
 * reason, and the chart opens to them for an hour. The grant, its audit entry and an alert for the
 * security officer are written in one transaction. Registered systems are not held to care teams
 * (an integration acts for the whole practice and is registered by the security officer).
 */
import { randomUUID } from 'node:crypto';
import type { Resource } from '../fhir/types.ts';
import type { AuditEntryDraft, StoreOperations } from '../store/index.ts';
import { AccessError } from './accessError.ts';
import type { Principal } from './roles.ts';

export const CONFIDENTIALITY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
export const RESTRICTED_CODES = ['R', 'V'] as const;
export const BREAK_GLASS_MINUTES = 60;
const GRANT_KIND = 'break-glass';
export const ALERT_KIND = 'alert';
/** Alerts are kept as long as the audit trail (6 years), then expire. */
const ALERT_LIFETIME_MS = 6 * 366 * 24 * 3600 * 1000;
const MAX_RESTRICTED = 10_000;

interface Grant {
  user: string;
  patient: string;
  until: number;
}

/** What the security officer reviews (`chartvault report alerts`). */
export interface Alert {
  id: string;
  kind: 'break-glass';
  time: string;
  user: string;
  role: string;
  patient: string;
  reason: string;
  until: string;
  address?: string;
}

const grantId = (user: string, patient: string) => `${user}|${patient}`;

/** Whether a Patient resource is labelled restricted. */
export function isRestricted(patient: Resource): boolean {
  const security = (patient.meta as { security?: { system?: string; code?: string }[] } | undefined)
    ?.security;
  return (security ?? []).some(
    (label) =>
      label.system === CONFIDENTIALITY_SYSTEM &&
      (RESTRICTED_CODES as readonly string[]).includes(label.code!),
  );
}

/**
 * The restricted charts `principal` may not open now: every restricted patient, less those whose care
 * team they are on and those they broke the glass for (until the grant runs out). Empty for systems.
 */
export async function closedCharts(
  ops: StoreOperations,
  principal: Principal,
  now: number,
): Promise<Set<string>> {
  if (principal.kind !== 'user') return new Set();
  const { resources: restricted } = await ops.search({
    types: ['Patient'],
    criteria: [
      {
        kind: 'token',
        code: '_security',
        values: RESTRICTED_CODES.map((code) => ({ system: CONFIDENTIALITY_SYSTEM, code })),
      },
    ],
    sort: [],
    count: MAX_RESTRICTED,
    offset: 0,
    total: 'none',
  });
  const closed = new Set(restricted.map((patient) => patient.id!));
  if (closed.size === 0) return closed;
  const practitioner = principal.practitioner && `Practitioner/${principal.practitioner}`;
  if (practitioner) {
    for (const patient of restricted) {
      const gps = (patient as { generalPractitioner?: { reference?: string }[] }).generalPractitioner ?? [];
      if (gps.some((gp) => gp.reference === practitioner)) closed.delete(patient.id!);
    }
    const { resources: teams } = await ops.search({
      types: ['CareTeam'],
      criteria: [{ kind: 'reference', code: 'participant', values: [practitioner] }],
      sort: [],
      count: MAX_RESTRICTED,
      offset: 0,
      total: 'none',
    });
    for (const team of teams as CareTeam[]) {
      if (team.status === 'inactive' || team.status === 'entered-in-error') continue;
      const subject = /^(?:.*\/)?Patient\/([^/]+)$/.exec(team.subject?.reference ?? '')?.[1];
      if (subject) closed.delete(subject);
    }
  }
  for (const patient of [...closed]) {
    const grant = await ops.records.get<Grant>(GRANT_KIND, grantId(principal.id, patient));
    if (grant && grant.until > now) closed.delete(patient);
  }
  return closed;
}

interface CareTeam extends Resource {
  status?: string;
  subject?: { reference?: string };
}

/**
 * Breaks the glass: `principal` (a person) gets `patientId`'s restricted chart for an hour. The grant,
 * the alert and the audit entry commit together; the reason is kept with the alert (it may say
 * something about the patient, so it stays out of the audit entry, which holds identifiers only).
 */
export async function breakTheGlass(
  ops: StoreOperations,
  request: { principal: Principal; patient: Resource; reason: string; address?: string; now: number },
): Promise<{ until: Date }> {
  const { principal, patient, now } = request;
  if (principal.kind !== 'user')
    throw new AccessError('Only a person signed in with their own account can break the glass.');
  if (!isRestricted(patient))
    throw new AccessError(`Patient/${patient.id} is not a restricted chart; there is no glass to break.`);
  const reason = request.reason.trim();
  if (reason.length < 10 || reason.length > 1000)
    throw new AccessError(
      'Give the reason for opening this restricted chart in 10 to 1,000 characters (it goes to the security officer).',
    );
  const until = now + BREAK_GLASS_MINUTES * 60_000;
  const alert: Alert = {
    id: randomUUID(),
    kind: 'break-glass',
    time: new Date(now).toISOString(),
    user: principal.id,
    role: principal.role,
    patient: patient.id!,
    reason,
    until: new Date(until).toISOString(),
    ...(request.address ? { address: request.address } : {}),
  };
  const entry: AuditEntryDraft = {
    agent: {
      type: 'user',
      id: principal.id,
      role: principal.role,
      ...(request.address ? { address: request.address } : {}),
    },
    action: 'break-glass',
    resource: { type: 'Patient', id: patient.id! },
    patients: [patient.id!],
    outcome: 'success',
    detail: { alert: alert.id, minutes: BREAK_GLASS_MINUTES },
  };
  const write = async (tx: StoreOperations) => {
    const grant: Grant = { user: principal.id, patient: patient.id!, until };
    await tx.records.put(GRANT_KIND, grantId(principal.id, patient.id!), grant, { expiresAt: until });
    await tx.records.put(ALERT_KIND, alert.id, alert, { expiresAt: now + ALERT_LIFETIME_MS });
    await tx.appendAudit(entry);
  };
  if ('transaction' in ops) await (ops as { transaction: StoreTransaction }).transaction(write);
  else await write(ops);
  return { until: new Date(until) };
}

type StoreTransaction = <R>(work: (tx: StoreOperations) => Promise<R>) => Promise<R>;

/** Every alert, newest first (for `chartvault report alerts`). */
export async function listAlerts(ops: Pick<StoreOperations, 'records'>): Promise<Alert[]> {
  const alerts = (await ops.records.list<Alert>(ALERT_KIND)).map((entry) => entry.value);
  return alerts.sort((a, b) => b.time.localeCompare(a.time));
}
