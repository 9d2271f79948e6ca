/**
 * Who did an access-administration or sign-in action, and the one place where such events enter the
 * audit chain (docs/audit-chain.md): `recordAccessEvent` appends an entry through the store's
 * `appendAudit`. Given a transaction, the entry commits with the change it records; given the store,
 * it joins the next group commit and the promise resolves once it is durable.
 */
import { hostname, userInfo } from 'node:os';
import type { AuditAgent, StoreOperations } from '../store/index.ts';
import type { Principal } from './roles.ts';

export interface Actor {
  kind: 'operator' | 'user' | 'client' | 'anonymous';
  /** user@host for an operator, the user name, the client id; for anonymous, the name that was tried. */
  id: string;
}

/** Someone at the server's console running the CLI: holding the host and the key folder is the credential. */
export function operatorActor(): Actor {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = process.env.USER ?? 'unknown';
  }
  return { kind: 'operator', id: `${user}@${hostname()}` };
}

/**
 * The operator as a principal for `decide`: an administrator at the console acts with the security
 * officer's rights (account and client administration, no clinical data through these commands).
 */
export function operatorPrincipal(actor: Actor = operatorActor()): Principal {
  return { kind: 'operator', id: actor.id, role: 'security-officer' };
}

export type AccessAction =
  | 'account-add'
  | 'account-disable'
  | 'account-reset-mfa'
  | 'account-password'
  | 'account-mfa-enrol'
  | 'account-practitioner'
  | 'break-glass'
  | 'client-add'
  | 'client-revoke'
  | 'login-password'
  | 'login-second-factor'
  | 'token-issue'
  | 'token-revoke'
  | 'token-refresh'
  | 'refresh-token-reuse'
  | 'session-start'
  | 'session-end'
  | 'consent'
  | 'enrolment-code';

export interface AccessEvent {
  action: AccessAction;
  actor: Actor;
  outcome: 'success' | 'failure';
  /** The account or client acted on (an identifier, never a password or secret). */
  target?: string;
  /** Where the request came from (an IP address), when it came over the network. */
  address?: string;
  /** A short reason for a failure (no secrets, no patient data). */
  detail?: string;
  /** The HTTP status answered, when there was one. */
  status?: number;
}

/** Appends the event to the audit chain. No secrets and no patient data go into it. */
export async function recordAccessEvent(ops: StoreOperations, event: AccessEvent): Promise<void> {
  const detail: Record<string, string | number> = {};
  if (event.target !== undefined) detail.target = event.target;
  if (event.detail !== undefined) detail.reason = event.detail.slice(0, 300);
  if (event.actor.kind === 'anonymous' && event.actor.id) detail.user = event.actor.id.slice(0, 100);
  await ops.appendAudit({
    agent: auditAgent(event.actor, event.address),
    action: event.action,
    outcome: event.outcome,
    status: event.status,
    detail: Object.keys(detail).length > 0 ? detail : undefined,
  });
}

/** The chain's agent types: `os-user` for the CLI, `user`, `client`, and `unauthenticated`. */
function auditAgent(actor: Actor, address: string | undefined): AuditAgent {
  const type = { operator: 'os-user', user: 'user', client: 'client', anonymous: 'unauthenticated' }[
    actor.kind
  ];
  return {
    type,
    ...(actor.kind === 'anonymous' ? {} : { id: actor.id }),
    ...(address === undefined ? {} : { address }),
  };
}
