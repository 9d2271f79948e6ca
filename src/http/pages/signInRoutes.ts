/**
 * The sign-in pages: password, second factor, first enrolment with a one-time code, authenticator
 * set-up, password change, the account page, sign out and sign out everywhere. Each step is a plain
 * form; every POST is checked for its origin and its session's CSRF token first. Failures answer as
 * login.ts does: the same message whatever went wrong, throttled per account name and address.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AccessError } from '../../access/accessError.ts';
import { getAccount, redeemEnrolmentCode, setPassword } from '../../access/accounts.ts';
import { recordAccessEvent } from '../../access/attribution.ts';
import { authenticatePassword, SECOND_FACTOR_FAILED, verifySecondFactor } from '../../access/login.ts';
import {
  addPasskey,
  passkeyObstacle,
  passkeyRegistrationOptions,
  passkeySignInOptions,
  verifyPasskeySignIn,
  type RelyingParty,
} from '../../access/passkeys.ts';
import { confirmTotpEnrolment, startTotpEnrolment } from '../../access/mfaEnrolment.ts';
import { verifyPassword } from '../../access/passwordHash.ts';
import { decide } from '../../access/permissions.ts';
import { revokeRefreshTokensOf } from '../../access/refreshTokens.ts';
import type { ActiveSession, SessionStore } from '../../access/sessions.ts';
import { checkThrottle, recordFailure, throttleKeys } from '../../access/throttle.ts';
import { enrolmentQrSvg } from '../../access/totp.ts';
import type { ResourceStore } from '../../store/index.ts';
import { accountPage } from './accountPage.ts';
import { enrolPage } from './enrolPage.ts';
import { sendMessagePage, sendPage } from './html.ts';
import { loginPage } from './loginPage.ts';
import { mfaEnrolPage, recoveryCodesPage } from './mfaEnrolPage.ts';
import {
  clearSessionCookie,
  formRefusal,
  postedForm,
  queryOf,
  safeNext,
  sessionCookieValue,
  setSessionCookie,
} from './pageRequest.ts';
import { addPasskeyPage, PASSKEY_SCRIPTS } from './passkeyPage.ts';
import { passwordPage } from './passwordPage.ts';
import { clientsPage } from './clientsPage.ts';
import { listClients, registerClient, revokeClient } from '../../access/clients.ts';
import { secondFactorPage } from './secondFactorPage.ts';

export interface PageContext {
  store: ResourceStore;
  sessions: SessionStore;
}

export const ENROLMENT_FAILED =
  'The user name or enrolment code is not right, or the code has expired or been used. Check them, or ask your security officer for a new code.';

/** The live session behind the request's cookie, if any. */
export function currentSession(
  context: PageContext,
  request: FastifyRequest,
): Promise<ActiveSession | undefined> {
  return context.sessions.resolve(sessionCookieValue(request));
}

/** A session to carry a form's CSRF token: the current one, or a new anonymous one. */
export async function formSession(
  context: PageContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<ActiveSession> {
  const current = await currentSession(context, request);
  if (current) return current;
  const started = await context.sessions.start('anonymous', sessionFields(request));
  setSessionCookie(request, reply, started.id);
  return started;
}

/** The signed-in session, or a redirect to the sign-in page (which comes back to `next`). */
export async function signedInSession(
  context: PageContext,
  request: FastifyRequest,
  reply: FastifyReply,
  next: string,
): Promise<ActiveSession | undefined> {
  const current = await currentSession(context, request);
  if (current?.session.stage === 'signed-in') return current;
  reply.redirect(`/login?next=${encodeURIComponent(next)}`, 303);
  return undefined;
}

/** Checks a posted form; on refusal answers 403 and returns undefined. */
export async function checkedForm(
  context: PageContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<{ form: URLSearchParams; active: ActiveSession } | undefined> {
  const form = postedForm(request);
  const active = await currentSession(context, request);
  const refusal = formRefusal(request, active, form);
  if (refusal) {
    sendMessagePage(
      reply,
      403,
      'Form refused',
      `This form was refused: ${refusal}. Go back, reload the page and try again.`,
      { href: '/login', label: 'Sign in' },
    );
    return undefined;
  }
  return { form: form!, active: active! };
}

/** The page's origin and host name as the browser sees them: a passkey is bound to both. */
function relyingParty(request: FastifyRequest): RelyingParty {
  return { origin: `${request.protocol}://${request.host}`, rpId: request.host.replace(/:\d+$/, '') };
}

export function sessionFields(request: FastifyRequest) {
  const agent = request.headers['user-agent'];
  return { address: request.ip, userAgent: typeof agent === 'string' ? agent : undefined };
}

export function signInRoutes(app: FastifyInstance, context: PageContext): void {
  const { store, sessions } = context;

  /** Moves a session to the signed-in stage under a new id and audits the start. */
  const completeSignIn = async (
    request: FastifyRequest,
    reply: FastifyReply,
    active: ActiveSession,
    method: string,
  ) => {
    const now = sessions.now();
    const started = await sessions.start(
      'signed-in',
      {
        ...sessionFields(request),
        userName: active.session.userName,
        role: active.session.role,
        signedInAt: now,
        created: now,
      },
      active.id,
    );
    setSessionCookie(request, reply, started.id);
    await recordAccessEvent(store, {
      action: 'session-start',
      actor: { kind: 'user', id: active.session.userName! },
      outcome: 'success',
      address: request.ip,
      detail: method,
    });
    return started;
  };

  app.get('/login', async (request, reply) => {
    const next = safeNext(queryOf(request).get('next'));
    const current = await currentSession(context, request);
    if (current?.session.stage === 'signed-in') return reply.redirect(next ?? '/account', 303);
    if (current?.session.stage === 'second-factor') return reply.redirect('/login/code', 303);
    if (current?.session.stage === 'enrol-mfa') return reply.redirect('/mfa/enrol', 303);
    const active = await formSession(context, request, reply);
    return sendPage(reply, { title: 'Sign in', body: loginPage({ csrf: active.session.csrf, next }) });
  });

  app.post('/login', async (request, reply) => {
    const checked = await checkedForm(context, request, reply);
    if (!checked) return reply;
    const { form, active } = checked;
    const userName = (form.get('user') ?? '').slice(0, 200);
    const next = safeNext(form.get('next'));
    const result = await authenticatePassword(store, userName, form.get('password') ?? '', request.ip, {
      now: sessions.now(),
    });
    if (!result.ok) {
      if (result.retryAfterMs > 0) reply.header('Retry-After', String(Math.ceil(result.retryAfterMs / 1000)));
      return sendPage(reply, {
        title: 'Sign in',
        status: 401,
        body: loginPage({ csrf: active.session.csrf, next, error: result.message, userName }),
      });
    }
    const stage = result.next === 'enrol-mfa' ? 'enrol-mfa' : 'second-factor';
    const started = await sessions.start(
      stage,
      { ...sessionFields(request), userName: result.userName, role: result.role, next },
      active.id,
    );
    setSessionCookie(request, reply, started.id);
    return reply.redirect(stage === 'enrol-mfa' ? '/mfa/enrol' : '/login/code', 303);
  });

  /** The second step's page, with a passkey form when the account has a passkey for this host. */
  const sendSecondStep = async (
    request: FastifyRequest,
    reply: FastifyReply,
    active: ActiveSession,
    error?: string,
  ) => {
    const account = await getAccount(store, active.session.userName!);
    const passkeyOptions = account ? await passkeySignInOptions(account, relyingParty(request)) : undefined;
    if (passkeyOptions) await sessions.update(active, { passkeyChallenge: passkeyOptions.challenge });
    return sendPage(reply, {
      title: 'Second step',
      status: error ? 401 : 200,
      scripts: passkeyOptions ? PASSKEY_SCRIPTS : undefined,
      body: secondFactorPage({
        csrf: active.session.csrf,
        userName: active.session.userName!,
        error,
        passkeyOptions,
      }),
    });
  };

  app.get('/login/code', async (request, reply) => {
    const current = await currentSession(context, request);
    if (current?.session.stage !== 'second-factor') return reply.redirect('/login', 303);
    return sendSecondStep(request, reply, current);
  });

  /**
   * A posted passkey form at `stage`: the browser's answer and the challenge it must answer, taken
   * out of the session before the answer is checked (a challenge answers once).
   */
  const passkeyAnswer = async (
    request: FastifyRequest,
    reply: FastifyReply,
    stage: 'second-factor' | 'signed-in',
  ) => {
    const checked = await checkedForm(context, request, reply);
    if (!checked) return undefined;
    const { form, active } = checked;
    if (active.session.stage !== stage) {
      reply.redirect('/login', 303);
      return undefined;
    }
    const challenge = active.session.passkeyChallenge;
    await sessions.update(active, { passkeyChallenge: undefined });
    const answer = {
      userName: active.session.userName!,
      response: (form.get('response') ?? '').slice(0, 20_000),
      expectedChallenge: challenge ?? '',
      rp: relyingParty(request),
      address: request.ip,
    };
    return { active, answer, challenge };
  };

  app.post('/login/passkey', async (request, reply) => {
    const posted = await passkeyAnswer(request, reply, 'second-factor');
    if (!posted) return reply;
    const { active, answer, challenge } = posted;
    const result = await verifyPasskeySignIn(store, answer, { now: sessions.now() });
    if (!result.ok || !challenge) {
      if (!result.ok && result.retryAfterMs > 0)
        reply.header('Retry-After', String(Math.ceil(result.retryAfterMs / 1000)));
      return sendSecondStep(request, reply, active, SECOND_FACTOR_FAILED);
    }
    await completeSignIn(request, reply, active, 'passkey');
    return reply.redirect(active.session.next ?? '/account', 303);
  });

  app.get('/mfa/passkey', async (request, reply) => {
    const active = await signedInSession(context, request, reply, '/mfa/passkey');
    if (!active) return reply;
    return sendAddPasskey(request, reply, active);
  });

  app.post('/mfa/passkey', async (request, reply) => {
    const posted = await passkeyAnswer(request, reply, 'signed-in');
    if (!posted) return reply;
    const { active, answer, challenge } = posted;
    try {
      if (!challenge) throw new AccessError('The passkey form has expired; try again.');
      await addPasskey(store, { ...answer, now: sessions.now() });
    } catch (error) {
      if (error instanceof AccessError) return sendAddPasskey(request, reply, active, error.message);
      throw error;
    }
    return reply.redirect('/account?changed=passkey', 303);
  });

  const sendAddPasskey = async (
    request: FastifyRequest,
    reply: FastifyReply,
    active: ActiveSession,
    error?: string,
  ) => {
    const account = await getAccount(store, active.session.userName!);
    if (!account) return reply.redirect('/login', 303);
    const rp = relyingParty(request);
    const obstacle = passkeyObstacle(rp);
    const options = obstacle ? undefined : await passkeyRegistrationOptions(account, rp);
    if (options) await sessions.update(active, { passkeyChallenge: options.challenge });
    return sendPage(reply, {
      title: 'Add a passkey',
      status: error ? 400 : 200,
      scripts: options ? PASSKEY_SCRIPTS : undefined,
      body: addPasskeyPage({
        csrf: active.session.csrf,
        options,
        count: (account.mfa.passkeys ?? []).length,
        obstacle,
        error,
      }),
    });
  };

  app.post('/login/code', async (request, reply) => {
    const checked = await checkedForm(context, request, reply);
    if (!checked) return reply;
    const { form, active } = checked;
    if (active.session.stage !== 'second-factor') return reply.redirect('/login', 303);
    const result = await verifySecondFactor(
      store,
      active.session.userName!,
      form.get('code') ?? '',
      request.ip,
      {
        now: sessions.now(),
      },
    );
    if (!result.ok) {
      if (result.retryAfterMs > 0) reply.header('Retry-After', String(Math.ceil(result.retryAfterMs / 1000)));
      return sendSecondStep(request, reply, active, result.message);
    }
    await completeSignIn(request, reply, active, result.method);
    return reply.redirect(active.session.next ?? '/account', 303);
  });

  app.get('/enrol', async (request, reply) => {
    const active = await formSession(context, request, reply);
    return sendPage(reply, { title: 'Set your password', body: enrolPage({ csrf: active.session.csrf }) });
  });

  app.post('/enrol', async (request, reply) => {
    const checked = await checkedForm(context, request, reply);
    if (!checked) return reply;
    const { form, active } = checked;
    const userName = (form.get('user') ?? '').trim().toLowerCase().slice(0, 200);
    const refuse = (error: string, status = 400) =>
      sendPage(reply, {
        title: 'Set your password',
        status,
        body: enrolPage({ csrf: active.session.csrf, userName, error }),
      });
    const password = form.get('password') ?? '';
    if (password !== (form.get('confirm') ?? ''))
      return refuse('The two new passwords differ; type the same one twice.');
    const now = sessions.now();
    const keys = throttleKeys(userName, request.ip);
    const throttle = await checkThrottle(store.records, keys, now);
    const audit = (outcome: 'success' | 'failure', detail?: string) =>
      recordAccessEvent(store, {
        action: 'enrolment-code',
        actor: outcome === 'success' ? { kind: 'user', id: userName } : { kind: 'anonymous', id: userName },
        outcome,
        address: request.ip,
        detail,
      });
    if (!throttle.allowed) {
      await audit('failure', throttle.locked ? 'locked out' : 'throttled');
      return refuse(ENROLMENT_FAILED, 401);
    }
    let redeemed: boolean;
    try {
      redeemed = await redeemEnrolmentCode(store, userName, form.get('code') ?? '', password, now);
    } catch (error) {
      if (error instanceof AccessError) return refuse(error.message);
      throw error;
    }
    if (!redeemed) {
      await recordFailure(store, keys, now);
      await audit('failure', 'wrong, used or expired code');
      return refuse(ENROLMENT_FAILED, 401);
    }
    await audit('success', 'password set');
    const account = await getAccount(store, userName);
    const started = await sessions.start(
      'enrol-mfa',
      { ...sessionFields(request), userName: account!.userName, role: account!.role },
      active.id,
    );
    setSessionCookie(request, reply, started.id);
    return reply.redirect('/mfa/enrol', 303);
  });

  app.get('/mfa/enrol', async (request, reply) => {
    const current = await currentSession(context, request);
    if (current?.session.stage !== 'enrol-mfa') return reply.redirect('/login', 303);
    const userName = current.session.userName!;
    const enrolment = await startTotpEnrolment(store, userName);
    return sendPage(reply, {
      title: 'Set up your authenticator app',
      body: mfaEnrolPage({
        csrf: current.session.csrf,
        userName,
        secret: enrolment.secret,
        qrSvg: enrolment.qrSvg,
      }),
    });
  });

  app.post('/mfa/enrol', async (request, reply) => {
    const checked = await checkedForm(context, request, reply);
    if (!checked) return reply;
    const { form, active } = checked;
    if (active.session.stage !== 'enrol-mfa') return reply.redirect('/login', 303);
    const userName = active.session.userName!;
    const codes = await confirmTotpEnrolment(store, userName, form.get('code') ?? '', sessions.now());
    if (!codes) {
      await recordAccessEvent(store, {
        action: 'account-mfa-enrol',
        actor: { kind: 'user', id: userName },
        outcome: 'failure',
        address: request.ip,
        detail: 'wrong first code',
      });
      const account = await getAccount(store, userName);
      const secret = account?.mfa.totpSecret;
      if (!secret) return reply.redirect('/mfa/enrol', 303);
      return sendPage(reply, {
        title: 'Set up your authenticator app',
        status: 400,
        body: mfaEnrolPage({
          csrf: active.session.csrf,
          userName,
          secret,
          qrSvg: await enrolmentQrSvg(secret, userName),
          error: 'That code is not right. Check that the app shows ChartVault and type its newest code.',
        }),
      });
    }
    await completeSignIn(request, reply, active, 'authenticator enrolled');
    return sendPage(reply, {
      title: 'Your recovery codes',
      body: recoveryCodesPage({ codes, next: active.session.next ?? '/account' }),
    });
  });

  app.get('/account', async (request, reply) => {
    const active = await signedInSession(context, request, reply, '/account');
    if (!active) return reply;
    const notice =
      {
        password: 'Your password has been changed; your other sessions were signed out.',
        passkey: 'Your passkey has been added: the next sign-in offers it as the second step.',
      }[queryOf(request).get('changed') ?? ''] ?? undefined;
    return showAccount(reply, active, notice);
  });

  const showAccount = async (reply: FastifyReply, active: ActiveSession, notice?: string) => {
    const account = await getAccount(store, active.session.userName!);
    const mayAdminister = decide(
      { kind: 'user', id: account!.userName, role: account!.role },
      'search',
      '$accounts',
    ).allowed;
    return sendPage(reply, {
      title: 'Your account',
      wide: true,
      body: accountPage({
        csrf: active.session.csrf,
        userName: account!.userName,
        displayName: account!.displayName,
        role: account!.role,
        currentKey: active.key,
        sessions: await sessions.listFor(account!.userName),
        everyone: mayAdminister ? await sessions.listSignedIn() : undefined,
        recoveryCodesLeft: account!.mfa.recoveryCodeHashes.length,
        passkeys: (account!.mfa.passkeys ?? []).length,
        notice,
      }),
    });
  };

  app.get('/password', async (request, reply) => {
    const active = await signedInSession(context, request, reply, '/password');
    if (!active) return reply;
    return sendPage(reply, {
      title: 'Change your password',
      body: passwordPage({ csrf: active.session.csrf, userName: active.session.userName! }),
    });
  });

  app.post('/password', async (request, reply) => {
    const checked = await checkedForm(context, request, reply);
    if (!checked) return reply;
    const { form, active } = checked;
    if (active.session.stage !== 'signed-in') return reply.redirect('/login', 303);
    const userName = active.session.userName!;
    const refuse = (error: string, status = 400) =>
      sendPage(reply, {
        title: 'Change your password',
        status,
        body: passwordPage({ csrf: active.session.csrf, userName, error }),
      });
    const now = sessions.now();
    const keys = throttleKeys(userName, request.ip);
    if (!(await checkThrottle(store.records, keys, now)).allowed)
      return refuse('Too many wrong passwords: wait a moment and try again.', 429);
    const account = await getAccount(store, userName);
    if (!account?.passwordHash || !(await verifyPassword(account.passwordHash, form.get('current') ?? ''))) {
      await recordFailure(store, keys, now);
      await recordAccessEvent(store, {
        action: 'account-password',
        actor: { kind: 'user', id: userName },
        outcome: 'failure',
        address: request.ip,
        detail: 'current password wrong',
      });
      return refuse('The current password is not right.', 401);
    }
    const password = form.get('password') ?? '';
    if (password !== (form.get('confirm') ?? ''))
      return refuse('The two new passwords differ; type the same one twice.');
    try {
      await setPassword(store, userName, password, { kind: 'user', id: userName });
    } catch (error) {
      if (error instanceof AccessError) return refuse(error.message);
      throw error;
    }
    await sessions.endAllFor(userName, active.key);
    return reply.redirect('/account?changed=password', 303);
  });

  app.post('/logout', async (request, reply) => {
    const checked = await checkedForm(context, request, reply);
    if (!checked) return reply;
    await sessions.end(checked.active, 'signed out', request.ip);
    clearSessionCookie(request, reply);
    return reply.redirect('/login', 303);
  });

  /** A signed-in person whose role may `interaction` registered systems; 403 page otherwise. */
  const clientAdministrator = async (
    request: FastifyRequest,
    reply: FastifyReply,
    interaction: 'search' | 'create' | 'delete',
  ) => {
    const active = await signedInSession(context, request, reply, '/admin/clients');
    if (!active) return undefined;
    const principal = { kind: 'user' as const, id: active.session.userName!, role: active.session.role! };
    const decision = decide(principal, interaction, '$clients');
    if (!decision.allowed) {
      sendMessagePage(reply, 403, 'Not allowed', `Not allowed: ${decision.reason}.`, {
        href: '/account',
        label: 'Your account',
      });
      return undefined;
    }
    return active;
  };

  const showClients = async (
    reply: FastifyReply,
    active: ActiveSession,
    view: Omit<Parameters<typeof clientsPage>[0], 'csrf' | 'clients'> = {},
  ) =>
    sendPage(reply, {
      title: 'Registered systems',
      wide: true,
      status: view.error ? 400 : 200,
      body: clientsPage({ csrf: active.session.csrf, clients: await listClients(store), ...view }),
    });

  app.get('/admin/clients', async (request, reply) => {
    const active = await clientAdministrator(request, reply, 'search');
    return active ? showClients(reply, active) : reply;
  });

  /** A posted change to the registered systems: the form checked, the role asked, refusals shown. */
  const clientChange =
    (
      interaction: 'create' | 'delete',
      change: (
        form: URLSearchParams,
        actor: { kind: 'user'; id: string },
      ) => Promise<Omit<Parameters<typeof clientsPage>[0], 'csrf' | 'clients'>>,
    ) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      const checked = await checkedForm(context, request, reply);
      if (!checked) return reply;
      const active = await clientAdministrator(request, reply, interaction);
      if (!active) return reply;
      try {
        return showClients(
          reply,
          active,
          await change(checked.form, { kind: 'user', id: active.session.userName! }),
        );
      } catch (error) {
        if (error instanceof AccessError) return showClients(reply, active, { error: error.message });
        throw error;
      }
    };

  app.post(
    '/admin/clients',
    clientChange('create', async (form, actor) => {
      const { client, clientSecret } = await registerClient(
        store,
        { name: (form.get('name') ?? '').slice(0, 300), scopes: (form.get('scopes') ?? '').slice(0, 2000) },
        actor,
      );
      return { added: { clientId: client.clientId, clientSecret: clientSecret!, name: client.name } };
    }),
  );

  app.post(
    '/admin/clients/revoke',
    clientChange('delete', async (form, actor) => {
      const client = await revokeClient(store, (form.get('client_id') ?? '').slice(0, 100), actor);
      return { notice: `Revoked ${client.name}: its tokens stop working at their next request.` };
    }),
  );

  app.post('/logout/everywhere', async (request, reply) => {
    const checked = await checkedForm(context, request, reply);
    if (!checked) return reply;
    const { active } = checked;
    if (active.session.stage !== 'signed-in') return reply.redirect('/login', 303);
    const userName = active.session.userName!;
    const now = sessions.now();
    const ended = await sessions.endAllFor(userName);
    const apps = await revokeRefreshTokensOf(store, userName, 'signed out everywhere', now);
    await recordAccessEvent(store, {
      action: 'session-end',
      actor: { kind: 'user', id: userName },
      outcome: 'success',
      address: request.ip,
      detail: `signed out everywhere: ${ended} sessions, ${apps} app authorizations`,
    });
    clearSessionCookie(request, reply);
    return reply.redirect('/login', 303);
  });
}
