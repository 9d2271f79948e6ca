/**
 * Bearer tokens on /fhir (RFC 6750): every FHIR interaction but the CapabilityStatement needs an
 * access token from this server's token endpoint. A missing, malformed, forged, expired, revoked or
 * wrong-audience token gets 401 with a WWW-Authenticate header saying why, as an OperationOutcome.
 */
import type { FastifyReply } from 'fastify';
import { InvalidTokenError, type Principal, type TokenService } from '../access/index.ts';
import { operationOutcome } from '../fhir/outcome.ts';

/** The request cannot go on without a (valid) token; `code` is RFC 6750's, for the audit entry too. */
export class TokenRequired extends Error {
  override readonly name = 'TokenRequired';
  constructor(
    message: string,
    /** `invalid_request` (a malformed header), `invalid_token`, or `missing` (no credentials at all). */
    readonly code: 'invalid_request' | 'invalid_token' | 'missing',
  ) {
    super(message);
  }
}

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** The principal behind the request's `Authorization: Bearer` header, or TokenRequired. */
export async function authenticate(
  tokens: TokenService,
  authorization: string | undefined,
  fhirBaseUrl: string,
  now?: number,
): Promise<Principal> {
  if (authorization === undefined || authorization.trim() === '')
    throw new TokenRequired(
      'This FHIR server needs an access token: get one at the token endpoint named in /fhir/.well-known/smart-configuration and send it as "Authorization: Bearer <token>".',
      'missing',
    );
  const match = BEARER.exec(authorization);
  if (!match)
    throw new TokenRequired(
      'The Authorization header must be "Bearer <access token>"; other schemes are not accepted here.',
      'invalid_request',
    );
  try {
    return await tokens.verifyAccessToken(match[1]!, fhirBaseUrl, now);
  } catch (error) {
    if (error instanceof InvalidTokenError) throw new TokenRequired(error.message, 'invalid_token');
    throw error;
  }
}

export function sendUnauthorized(reply: FastifyReply, error: TokenRequired) {
  const challenge =
    error.code === 'missing'
      ? 'Bearer realm="ChartVault"'
      : `Bearer realm="ChartVault", error="${error.code}", error_description="${error.message.replace(/"/g, "'")}"`;
  return reply
    .code(error.code === 'invalid_request' ? 400 : 401)
    .header('WWW-Authenticate', challenge)
    .type('application/fhir+json; charset=utf-8')
    .send(
      operationOutcome([
        {
          severity: 'error',
          code: error.code === 'invalid_request' ? 'invalid' : 'login',
          diagnostics: error.message,
        },
      ]),
    );
}
