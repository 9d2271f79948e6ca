/**
 * The session cookie and the checks on every posted form. Over HTTPS the cookie is
 * `__Host-chartvault-session` (Secure, HttpOnly, SameSite=Strict, Path=/, no Domain: the browser
 * keeps it to this exact host and to HTTPS). Served with --insecure-http (loopback only) a Secure
 * cookie would not come back, and the `__Host-` prefix needs Secure, so the cookie is then named
 * `chartvault-session` with the same attributes but Secure. A posted form passes when its origin is
 * this server (Origin and Sec-Fetch-Site, when the browser sends them) and it carries the CSRF token
 * of its session (synchronizer token).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { csrfMatches, type ActiveSession } from '../../access/sessions.ts';

export const SECURE_COOKIE_NAME = '__Host-chartvault-session';
export const PLAIN_HTTP_COOKIE_NAME = 'chartvault-session';

export function cookieName(request: FastifyRequest): string {
  return request.protocol === 'https' ? SECURE_COOKIE_NAME : PLAIN_HTTP_COOKIE_NAME;
}

export function sessionCookieValue(request: FastifyRequest): string | undefined {
  const name = cookieName(request);
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}

export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, id: string): void {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  // No Max-Age: the cookie goes with the browser; the server ends the session itself.
  reply.header('Set-Cookie', `${cookieName(request)}=${id}; Path=/; HttpOnly; SameSite=Strict${secure}`);
}

export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  reply.header(
    'Set-Cookie',
    `${cookieName(request)}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure}`,
  );
}

export function originOf(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

/** The posted form (server.ts keeps form bodies as text), or undefined for any other body. */
export function postedForm(request: FastifyRequest): URLSearchParams | undefined {
  const contentType = request.headers['content-type'] ?? '';
  if (!/^application\/x-www-form-urlencoded\b/i.test(contentType)) return undefined;
  const body = request.body as { __form?: unknown } | undefined | null;
  if (body === undefined || body === null) return new URLSearchParams();
  return typeof body.__form === 'string' ? new URLSearchParams(body.__form) : undefined;
}

/** The query string of the request URL (the server leaves query parsing to the handlers). */
export function queryOf(request: FastifyRequest): URLSearchParams {
  const index = request.url.indexOf('?');
  return new URLSearchParams(index < 0 ? '' : request.url.slice(index + 1));
}

/** Why a posted form is refused, or undefined when it came from one of our pages in this session. */
export function formRefusal(
  request: FastifyRequest,
  session: ActiveSession | undefined,
  form: URLSearchParams | undefined,
): string | undefined {
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== originOf(request)) return 'the form was sent from another site';
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return 'the form was sent from another site';
  if (!form) return 'the form is not form-encoded';
  if (!session) return 'there is no session (it may have timed out)';
  if (!csrfMatches(session.session, form.get('csrf') ?? undefined))
    return 'the form token is missing or wrong';
  return undefined;
}

/**
 * Where to go once signed in: only our own pages (the account page or a pending consent screen), so
 * the sign-in page cannot be used to send someone elsewhere.
 */
export function safeNext(next: string | null | undefined): string | undefined {
  if (!next) return undefined;
  return /^\/(account|password|oauth\/consent\?request=[A-Za-z0-9_-]{1,64})$/.test(next) ? next : undefined;
}
