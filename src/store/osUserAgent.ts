/** The operating-system user running this process, as an audit agent (docs/audit-chain.md, section 2). */
import { hostname, userInfo } from 'node:os';
import type { AuditAgent } from './types.ts';

/** `username@hostname`; the numeric uid when the user has no name (a container without /etc/passwd). */
export function osUserAgent(): AuditAgent & { id: string } {
  let name: string;
  try {
    name = userInfo().username;
  } catch {
    name = String(process.getuid?.() ?? 'unknown');
  }
  return { type: 'os-user', id: `${name}@${hostname()}` };
}
