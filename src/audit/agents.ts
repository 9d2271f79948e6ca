/** The agents that ChartVault records today (docs/audit-chain.md, section 2). */
import { osUserAgent, type AuditAgent } from '../store/index.ts';

/** A CLI command: the operating-system user who ran it, as `username@hostname`. */
export function commandLineAgent(): AuditAgent {
  return osUserAgent();
}

/** An HTTP request before access control: only where it came from is known. */
export function unauthenticatedAgent(address: string): AuditAgent {
  return { type: 'unauthenticated', address };
}
