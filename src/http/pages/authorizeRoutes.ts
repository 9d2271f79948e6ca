/**
 * SMART App Launch: GET /oauth/authorize checks the app's request and keeps it server-side, then the
 * person signs in (if not yet) and answers the consent screen at /oauth/consent. The answer goes back
 * to the app's registered redirect_uri; the consent page's CSP allows its form to lead there.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import {
  approveAuthorization,
  denyAuthorization,
  getAuthorizationRequest,
  isResourceId,
  planConsent,
  startAuthorization,
  type AuthorizationRequest,
} from '../../access/authorization.ts';
import { decide } from '../../access/permissions.ts';
import type { ActiveSession } from '../../access/sessions.ts';
import type { HumanRole } from '../../access/roles.ts';
import { consentPage } from './consentPage.ts';
import { sendMessagePage, sendPage } from './html.ts';
import { originOf, queryOf, sessionCookieValue } from './pageRequest.ts';
import { checkedForm, signedInSession, type PageContext } from './signInRoutes.ts';

export const AUTHORIZE_PATH = '/oauth/authorize';
export const CONSENT_PATH = '/oauth/consent';

const EXPIRED =
  'This authorization request has expired or has been answered already. Start again from the app.';

export function authorizeRoutes(app: FastifyInstance, context: PageContext): void {
  const { store, sessions } = context;

  app.get(AUTHORIZE_PATH, async (request, reply) => {
    const outcome = await startAuthorization(
      store,
      queryOf(request),
      `${originOf(request)}/fhir`,
      sessions.now(),
    );
    if (outcome.ok) {
      const consent = `${CONSENT_PATH}?request=${outcome.requestId}`;
      // The session cookie is SameSite=Strict: a browser sent here by another site holds it back on
      // this navigation. One click from this page is same-site, so the person's session is seen.
      if (request.headers['sec-fetch-site'] === 'cross-site' && !sessionCookieValue(request)) {
        return sendMessagePage(
          reply,
          200,
          'Continue to ChartVault',
          'An app asks to use your ChartVault access.',
          {
            href: consent,
            label: 'Continue',
          },
        );
      }
      return reply.redirect(consent, 303);
    }
    if ('showError' in outcome)
      return sendMessagePage(reply, 400, 'The app cannot be authorized', outcome.showError);
    return reply.redirect(outcome.redirect, 303);
  });

  const showConsent = (
    reply: FastifyReply,
    active: ActiveSession,
    requestId: string,
    pending: AuthorizationRequest,
    extra: { error?: string; patient?: string; status?: number } = {},
  ) => {
    const target = new URL(pending.redirectUri);
    return sendPage(reply, {
      title: 'Authorize an app',
      status: extra.status,
      formTargets: [target.origin],
      body: consentPage({
        csrf: active.session.csrf,
        requestId,
        appName: pending.clientName,
        redirectHost: target.host,
        userName: active.session.userName!,
        plan: planConsent(active.session.role as HumanRole, pending.scope),
        patient: extra.patient,
        error: extra.error,
      }),
    });
  };

  app.get(CONSENT_PATH, async (request, reply) => {
    const requestId = queryOf(request).get('request') ?? '';
    const active = await signedInSession(context, request, reply, `${CONSENT_PATH}?request=${requestId}`);
    if (!active) return reply;
    const pending = await getAuthorizationRequest(store, requestId, sessions.now());
    if (!pending) return sendMessagePage(reply, 400, 'Request expired', EXPIRED);
    return showConsent(reply, active, requestId, pending);
  });

  app.post(CONSENT_PATH, async (request, reply) => {
    const checked = await checkedForm(context, request, reply);
    if (!checked) return reply;
    const { form, active } = checked;
    if (active.session.stage !== 'signed-in') return reply.redirect('/login', 303);
    const requestId = form.get('request') ?? '';
    const now = sessions.now();
    const pending = await getAuthorizationRequest(store, requestId, now);
    if (!pending) return sendMessagePage(reply, 400, 'Request expired', EXPIRED);
    const person = { userName: active.session.userName!, role: active.session.role as HumanRole };
    if (form.get('decision') !== 'approve') {
      const denied = await denyAuthorization(store, requestId, person.userName, now, request.ip);
      return denied
        ? reply.redirect(denied.location, 303)
        : sendMessagePage(reply, 400, 'Request expired', EXPIRED);
    }
    let patient: string | undefined;
    if (planConsent(person.role, pending.scope).needsPatient) {
      patient = (form.get('patient') ?? '').trim();
      const problem = await patientProblem(context, person, patient);
      if (problem)
        return showConsent(reply, active, requestId, pending, { error: problem, patient, status: 400 });
    }
    const approved = await approveAuthorization(store, requestId, person, patient, now, request.ip);
    return approved
      ? reply.redirect(approved.location, 303)
      : sendMessagePage(reply, 400, 'Request expired', EXPIRED);
  });
}

/** The patient picked for a patient-context app must exist and be one the person's role may open. */
async function patientProblem(
  context: PageContext,
  person: { userName: string; role: HumanRole },
  patient: string,
): Promise<string | undefined> {
  if (!decide({ kind: 'user', id: person.userName, role: person.role }, 'read', 'Patient').allowed)
    return 'Your role may not open patient charts, so it cannot give an app a patient.';
  if (!isResourceId(patient)) return "Give the patient's id (letters, digits, dashes and dots).";
  try {
    await context.store.read('Patient', patient);
    return undefined;
  } catch {
    return `There is no patient with the id ${patient}.`;
  }
}
