/**
 * Who did an access-administration or sign-in action, and the one place where such events are handed
 * on. The audit chain (src/audit) is being built beside this module; until it is connected, this
 * function is where the integration calls its append function, in the same transaction as the change
 * (`tx` is passed for that). Today it records nothing.
 */
import { hostname, userInfo } from 'node:os';
import type { StoreOperations } from '../store/index.ts';

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

export type AccessAction =
  | 'account.add'
  | 'account.disable'
  | 'account.reset-mfa'
  | 'account.password'
  | 'account.mfa-enrol'
  | 'client.add'
  | 'client.revoke'
  | 'login.password'
  | 'login.second-factor'
  | 'token.issue'
  | 'token.revoke';

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
}

/** The single hook for attribution: connect src/audit's append here. */
export async function recordAccessEvent(_tx: StoreOperations, _event: AccessEvent): Promise<void> {
  // Intentionally empty until the audit chain's append function is wired in (see the note above).
}
