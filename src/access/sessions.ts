/**
 * Server-side sessions for the sign-in pages and the consent screen. The browser holds only an opaque
 * random id (256 bits) in a cookie; the store keeps the session under the SHA-256 of that id, so a copy
 * of the database does not hand out live cookies. A session passes through stages: `anonymous` (a
 * visitor on the sign-in page, holding only a CSRF token), `second-factor` or `enrol-mfa` (the password
 * was right, the second factor is still due) and `signed-in`. Each change of stage issues a new id
 * (no session fixation). Every request re-checks the idle timeout, the absolute lifetime and the
 * account's disabled flag, so disabling an account ends its sessions at its next request.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ResourceStore } from '../store/index.ts';
import { ACCOUNT_KIND, accountId, type Account } from './accounts.ts';
import { recordAccessEvent } from './attribution.ts';
import type { HumanRole } from './roles.ts';

export const SESSION_KIND = 'session';
const MINUTE = 60_000;

export interface SessionPolicy {
  /** A signed-in session with no request for this long ends (default 15 minutes). */
  idleMs: number;
  /** A session ends this long after sign-in whatever happens (12 hours). */
  absoluteMs: number;
  /** A half-finished sign-in (password given, second factor due) lasts at most this long. */
  pendingMs: number;
}

export const DEFAULT_SESSION_POLICY: SessionPolicy = {
  idleMs: 15 * MINUTE,
  absoluteMs: 12 * 60 * MINUTE,
  pendingMs: 10 * MINUTE,
};

/** The environment variable that sets the idle timeout in minutes (1 to 720). */
export const IDLE_TIMEOUT_VARIABLE = 'CHARTVAULT_IDLE_TIMEOUT_MINUTES';

/** The policy with the idle timeout from the environment, when set; throws a clear message when not usable. */
export function sessionPolicyFromEnvironment(env: NodeJS.ProcessEnv = process.env): SessionPolicy {
  const text = env[IDLE_TIMEOUT_VARIABLE];
  if (text === undefined || text.trim() === '') return DEFAULT_SESSION_POLICY;
  const minutes = Number(text);
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > 720) {
    throw new Error(
      `${IDLE_TIMEOUT_VARIABLE}=${text.slice(0, 20)} is not usable: give whole minutes from 1 to 720 (default 15).`,
    );
  }
  return { ...DEFAULT_SESSION_POLICY, idleMs: minutes * MINUTE };
}

export type SessionStage = 'anonymous' | 'second-factor' | 'enrol-mfa' | 'signed-in';

export interface Session {
  stage: SessionStage;
  /** Set from the password step on. */
  userName?: string;
  role?: HumanRole;
  /** The synchronizer token every state-changing form of this session carries. */
  csrf: string;
  /** When this session (or the sign-in it continues) started, epoch ms. */
  created: number;
  lastSeen: number;
  /** When both factors succeeded. */
  signedInAt?: number;
  address: string;
  /** The browser, shortened, so people can tell their sessions apart on the account page. */
  userAgent?: string;
  /** Where to go once signed in (a local path checked by the caller). */
  next?: string;
  /** The WebAuthn challenge of the passkey form last shown in this session (used once). */
  passkeyChallenge?: string;
}

/** A live session and the cookie value that reaches it. */
export interface ActiveSession {
  id: string;
  /** The record key (hash of the id): names a session on the account page without revealing its cookie. */
  key: string;
  session: Session;
}

/** Expired security records (sessions, codes, throttle counters) are removed at most this often. */
const PURGE_INTERVAL_MS = 10 * MINUTE;

export class SessionStore {
  private lastPurge = 0;

  constructor(
    private readonly store: ResourceStore,
    readonly policy: SessionPolicy = DEFAULT_SESSION_POLICY,
    private readonly clock: () => number = Date.now,
  ) {}

  now(): number {
    return this.clock();
  }

  /** A new session at `stage`; the previous one (if any) is removed so its id stops working. */
  async start(
    stage: SessionStage,
    fields: Partial<Session> & { address: string },
    previousId?: string,
  ): Promise<ActiveSession> {
    if (previousId) await this.store.records.delete(SESSION_KIND, keyOf(previousId));
    await this.purgeNow();
    const now = this.clock();
    const id = randomBytes(32).toString('base64url');
    const session: Session = {
      ...fields,
      stage,
      csrf: randomBytes(32).toString('base64url'),
      created: fields.created ?? now,
      lastSeen: now,
      userAgent: fields.userAgent?.slice(0, 120),
    };
    await this.store.records.put(SESSION_KIND, keyOf(id), session, { expiresAt: this.deadline(session) });
    return { id, key: keyOf(id), session };
  }

  /**
   * The session behind a cookie value, or undefined when there is none, it has timed out (idle or
   * absolute), or its account is disabled (it is then ended and the end audited).
   */
  async resolve(id: string | undefined): Promise<ActiveSession | undefined> {
    if (!id || id.length > 100) return undefined;
    const key = keyOf(id);
    const session = await this.store.records.get<Session>(SESSION_KIND, key);
    if (!session) return undefined;
    const now = this.clock();
    const ended = await this.endReason(session, now);
    if (ended) {
      await this.end({ id, key, session }, ended);
      return undefined;
    }
    // Written back only when it moved: a burst of requests costs one write.
    if (now - session.lastSeen >= 5_000) {
      session.lastSeen = now;
      await this.store.records.put(SESSION_KIND, key, session, { expiresAt: this.deadline(session) });
    }
    return { id, key, session };
  }

  /** Keeps a change to a live session under the same id (the challenge of a passkey form). */
  async update(active: ActiveSession, changes: Partial<Session>): Promise<void> {
    Object.assign(active.session, changes);
    await this.store.records.put(SESSION_KIND, active.key, active.session, {
      expiresAt: this.deadline(active.session),
    });
  }

  /** Ends one session; a signed-in one's end is audited with the reason. */
  async end(active: ActiveSession, reason: string, address?: string): Promise<void> {
    await this.store.records.delete(SESSION_KIND, active.key);
    if (active.session.userName && active.session.stage === 'signed-in') {
      await recordAccessEvent(this.store, {
        action: 'session-end',
        actor: { kind: 'user', id: active.session.userName },
        outcome: 'success',
        address: address ?? active.session.address,
        detail: reason,
      });
    }
  }

  /** Every session of one account, e.g. for the account page. */
  async listFor(userName: string): Promise<{ key: string; session: Session }[]> {
    const id = accountId(userName);
    const now = this.clock();
    return (await this.store.records.list<Session>(SESSION_KIND))
      .filter((entry) => entry.value.userName === id && entry.value.stage === 'signed-in')
      .filter((entry) => !this.timedOut(entry.value, now))
      .map((entry) => ({ key: entry.id, session: entry.value }));
  }

  /** Every signed-in session of every account (the security officer's view). */
  async listSignedIn(): Promise<{ key: string; session: Session }[]> {
    const now = this.clock();
    return (await this.store.records.list<Session>(SESSION_KIND))
      .filter((entry) => entry.value.stage === 'signed-in' && !this.timedOut(entry.value, now))
      .map((entry) => ({ key: entry.id, session: entry.value }));
  }

  /** Ends every session of an account (sign out everywhere, a password change); returns how many. */
  async endAllFor(userName: string, except?: string): Promise<number> {
    const id = accountId(userName);
    let ended = 0;
    for (const entry of await this.store.records.list<Session>(SESSION_KIND)) {
      if (entry.value.userName !== id || entry.id === except) continue;
      if (await this.store.records.delete(SESSION_KIND, entry.id)) ended += 1;
    }
    return ended;
  }

  /**
   * Sign-in pages make records for every visitor; those past their expiry read as absent but stay on
   * disk until purged, so starting sessions purges them now and then (by the real clock).
   */
  private async purgeNow(): Promise<void> {
    if (Date.now() - this.lastPurge < PURGE_INTERVAL_MS) return;
    this.lastPurge = Date.now();
    await this.store.records.purgeExpired();
  }

  private timedOut(session: Session, now: number): boolean {
    return now >= this.deadline(session);
  }

  /** When the session ends if nothing else happens: idle, absolute or pending limit, whichever is first. */
  private deadline(session: Session): number {
    const lifetime = session.stage === 'signed-in' ? this.policy.absoluteMs : this.policy.pendingMs;
    const idle = session.stage === 'signed-in' ? this.policy.idleMs : this.policy.pendingMs;
    return Math.min(session.lastSeen + idle, (session.signedInAt ?? session.created) + lifetime);
  }

  private async endReason(session: Session, now: number): Promise<string | undefined> {
    if (session.stage === 'signed-in') {
      if (now - session.lastSeen >= this.policy.idleMs) return 'idle timeout';
      if (now - (session.signedInAt ?? session.created) >= this.policy.absoluteMs)
        return 'absolute lifetime reached';
    } else if (this.timedOut(session, now)) {
      return 'sign-in not finished in time';
    }
    if (session.userName) {
      const account = await this.store.records.get<Account>(ACCOUNT_KIND, session.userName);
      if (!account || account.disabled) return 'account disabled';
    }
    return undefined;
  }
}

/** Constant-time check of a form's CSRF token against its session's. */
export function csrfMatches(session: Session, presented: string | undefined): boolean {
  if (!presented) return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}

function keyOf(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}
