/**
 * The OAuth 2.0 / SMART routes, as one fastify plugin: the token endpoint (client_credentials for
 * systems; authorization_code and refresh_token for apps people sign in to), token revocation, the
 * token signing key's JWKS, and the SMART configuration document at both well-known places. Errors
 * here are OAuth JSON ({error, error_description}), not FHIR OperationOutcomes. The sign-in,
 * account and consent pages are a child plugin (pages/pageRoutes.ts) with their own error page.
 * Registered in server.ts; encapsulated, so its error handler applies to these routes only.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { handleRevocationRequest, handleTokenRequest, type TokenService } from '../access/index.ts';
import type { OAuthResponse } from '../access/tokenEndpoint.ts';
import { ASSERTION_ALGORITHMS } from '../access/tokenEndpoint.ts';
import type { ResourceStore } from '../store/index.ts';
import { APP_GRANT_TYPES, handleAppTokenRequest } from '../access/authorization.ts';
import { sessionPolicyFromEnvironment, type SessionPolicy } from '../access/sessions.ts';
import { pageRoutes } from './pages/pageRoutes.ts';
import { AUTHORIZE_PATH } from './pages/authorizeRoutes.ts';

export interface AuthRouteOptions {
  store: ResourceStore;
  /** Issues and checks access tokens; the FHIR routes verify with the same one (server.ts). */
  tokens: TokenService;
  /** Idle timeout and lifetimes of sign-in sessions; default: 15 minutes idle (or CHARTVAULT_IDLE_TIMEOUT_MINUTES), 12 hours. */
  sessionPolicy?: SessionPolicy;
  /** The clock (epoch ms) for sessions, codes and tokens; tests move it. */
  clock?: () => number;
}

/** What buildServer may pass on to these routes (tests set the clock and the session policy). */
export type AccessRouteSettings = Pick<AuthRouteOptions, 'sessionPolicy' | 'clock'> & {
  /** How long access tokens last (the token service server.ts makes); default 5 minutes. */
  tokenLifetimeSeconds?: number;
};

export const TOKEN_PATH = '/oauth/token';
export const REVOKE_PATH = '/oauth/revoke';
export const JWKS_PATH = '/oauth/jwks';

export async function authRoutes(app: FastifyInstance, options: AuthRouteOptions): Promise<void> {
  const { tokens } = options;
  const context = { store: options.store, tokens };
  const clock = options.clock ?? Date.now;
  await app.register(pageRoutes, {
    store: options.store,
    sessionPolicy: options.sessionPolicy ?? sessionPolicyFromEnvironment(),
    clock,
  });

  app.setErrorHandler((error, _request, reply) => {
    const status = (error as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) {
      return sendOAuth(reply, {
        status: 400,
        body: {
          error: 'invalid_request',
          error_description:
            status === 413
              ? 'The request body is too large.'
              : 'Send the parameters as application/x-www-form-urlencoded.',
        },
      });
    }
    console.error(`internal error in an OAuth route: ${(error as Error).stack ?? String(error)}`);
    return sendOAuth(reply, {
      status: 500,
      body: {
        error: 'server_error',
        error_description: 'The server could not complete this request; the error has been logged.',
      },
    });
  });

  const endpoint =
    (handler: typeof handleTokenRequest) => async (request: FastifyRequest, reply: FastifyReply) => {
      const form = formOf(request);
      if (!form) {
        return sendOAuth(reply, {
          status: 400,
          body: {
            error: 'invalid_request',
            error_description: 'Send the parameters as application/x-www-form-urlencoded.',
          },
        });
      }
      const origin = originOf(request);
      const grantType = form.getAll('grant_type');
      const chosen =
        handler === handleTokenRequest && grantType.length === 1 && APP_GRANT_TYPES.includes(grantType[0]!)
          ? handleAppTokenRequest
          : handler;
      const response = await chosen(context, {
        form,
        authorization: request.headers.authorization,
        tokenEndpointUrl: `${origin}${TOKEN_PATH}`,
        fhirBaseUrl: `${origin}/fhir`,
        issuer: origin,
        address: request.ip,
        now: clock(),
      });
      return sendOAuth(reply, response);
    };
  app.post(TOKEN_PATH, endpoint(handleTokenRequest));
  app.post(REVOKE_PATH, endpoint(handleRevocationRequest));

  app.get(JWKS_PATH, async (_request, reply) =>
    reply.type('application/json').send(await tokens.publicJwks()),
  );

  const smartConfiguration = async (request: FastifyRequest, reply: FastifyReply) => {
    const origin = originOf(request);
    return reply.type('application/json').send({
      issuer: origin,
      jwks_uri: `${origin}${JWKS_PATH}`,
      authorization_endpoint: `${origin}${AUTHORIZE_PATH}`,
      token_endpoint: `${origin}${TOKEN_PATH}`,
      revocation_endpoint: `${origin}${REVOKE_PATH}`,
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'private_key_jwt', 'none'],
      token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
      grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
      scopes_supported: [
        'system/*.cruds',
        'system/*.rs',
        'system/*.read',
        'system/*.write',
        'system/*.*',
        'patient/*.rs',
        'patient/*.cruds',
        'user/*.rs',
        'user/*.cruds',
        'launch/patient',
        'offline_access',
        'online_access',
      ],
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      capabilities: [
        'launch-standalone',
        'client-public',
        'client-confidential-symmetric',
        'client-confidential-asymmetric',
        'context-standalone-patient',
        'permission-offline',
        'permission-online',
        'permission-patient',
        'permission-user',
        'permission-v1',
        'permission-v2',
      ],
    });
  };
  app.get('/.well-known/smart-configuration', smartConfiguration);
  app.get('/fhir/.well-known/smart-configuration', smartConfiguration);
}

/** This server as the client reached it: protocol and Host of the request. */
function originOf(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

/** server.ts parses form bodies into {__form: text} for FHIR's POST _search; the same text here. */
function formOf(request: FastifyRequest): URLSearchParams | undefined {
  const body = request.body as { __form?: unknown } | undefined;
  const contentType = request.headers['content-type'] ?? '';
  if (!/^application\/x-www-form-urlencoded\b/i.test(contentType)) return undefined;
  if (body === undefined || body === null) return new URLSearchParams();
  return typeof body.__form === 'string' ? new URLSearchParams(body.__form) : undefined;
}

function sendOAuth(reply: FastifyReply, response: OAuthResponse) {
  reply.code(response.status).header('Pragma', 'no-cache');
  for (const [name, value] of Object.entries(response.headers ?? {})) reply.header(name, value);
  return reply.type('application/json').send(response.body);
}
