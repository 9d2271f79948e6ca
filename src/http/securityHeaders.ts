/**
 * Security headers on every response. The API answers JSON, never a page, so its default policy lets
 * a browser run, load, embed or frame nothing from it. A route that serves a page sets its own
 * Content-Security-Policy (and Cache-Control, if it may be cached) before sending; those are kept.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

/** One year; sent only over TLS (browsers ignore it over plain HTTP, RFC 6797 section 8.1). */
export const HSTS = 'max-age=31536000';
export const API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'";

const FIXED_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** Defaults a route may replace with its own (a page's stricter policy, a cacheable asset). */
const DEFAULT_HEADERS: Record<string, string> = {
  'Content-Security-Policy': API_CONTENT_SECURITY_POLICY,
  'Cache-Control': 'no-store',
};

export function setSecurityHeaders(request: FastifyRequest, reply: FastifyReply): void {
  for (const [name, value] of Object.entries(FIXED_HEADERS)) reply.header(name, value);
  for (const [name, value] of Object.entries(DEFAULT_HEADERS))
    if (!reply.hasHeader(name)) reply.header(name, value);
  if (request.protocol === 'https') reply.header('Strict-Transport-Security', HSTS);
}
