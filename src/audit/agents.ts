/** The agents that ChartVault records today (docs/audit-chain.md, section 2). */
import type { Principal } from '../access/roles.ts';
import { osUserAgent, type AuditAgent } from '../store/index.ts';

/** A CLI command: the operating-system user who ran it, as `username@hostname`. */
export function commandLineAgent(): AuditAgent {
  return osUserAgent();
}

/** An HTTP request before access control: only where it came from is known. */
export function unauthenticatedAgent(address: string): AuditAgent {
  return { type: 'unauthenticated', address };
}

/**
 * An HTTP request with a verified access token: the account (`user`) or registered system (`client`)
 * by its name, its role, and where the request came from.
 */
export function principalAgent(principal: Principal, address: string): AuditAgent {
  const type = principal.kind === 'operator' ? 'os-user' : principal.kind;
  return { type, id: principal.id, role: principal.role, address };
}
