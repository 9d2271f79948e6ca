/**
 * The HTTP server: the FHIR REST API under /fhir, with FHIR errors (OperationOutcome) for every failure.
 * Request logging is off: FHIR URLs carry search values, which are patient data.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { FhirError, operationOutcome, type IssueCode } from '../fhir/outcome.ts';
import type { Resource } from '../fhir/types.ts';
import type { ResourceStore } from '../store/index.ts';
import type { FhirContext, FhirMethod, FhirRequest, FhirResponse } from './fhirExchange.ts';
import { principalAgent, unauthenticatedAgent } from '../audit/agents.ts';
import { routeRequest } from './fhirRouter.ts';
import { parseJsonBody } from './jsonBody.ts';
import { setSecurityHeaders } from './securityHeaders.ts';
import { httpsOptions, type TlsCredentials } from './tls.ts';
import { authRoutes, type AccessRouteSettings } from './authRoutes.ts';
import { ephemeralTokenKeys, TokenService, type TokenKeys } from '../access/index.ts';
import { AccessGuard } from './accessGuard.ts';
import { authenticate, sendUnauthorized, TokenRequired } from './bearerAuth.ts';

export interface ServerOptions {
  store: ResourceStore;
  /** false only in a benchmark that measures the cost of the audit trail: interactions go unrecorded. */
  audit?: boolean;
  /**
   * false only in a benchmark that measures the cost of access control: /fhir answers without a
   * token. `chartvault serve` never sets it.
   */
  accessControl?: boolean;
  /** Largest accepted request body, in bytes. */
  maxBodyBytes?: number;
  /** Serve HTTPS with this certificate and key; without it, plain HTTP (loopback only, see serve). */
  tls?: TlsCredentials;
  /** The access-token signing key (access/tokenKeys.ts); without it, one made in memory at start. */
  tokenKeys?: TokenKeys;
  /** Sign-in and OAuth settings (session policy, a clock for tests): see authRoutes.ts. */
  access?: AccessRouteSettings;
}

export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;
const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const JSON_FORMATS = new Set(['json', 'application/json', 'application/fhir+json', 'application/json+fhir']);

export function buildServer(options: ServerOptions): FastifyInstance {
  const app = Fastify({
    ...(options.tls ? { https: httpsOptions(options.tls) } : {}),
    logger: false,
    bodyLimit: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    // Query strings are read from the URL in the handler, keeping repeated parameters in order.
    routerOptions: { maxParamLength: 2000, querystringParser: () => ({}) },
    // Errors fastify raises before routing (a URL that is not valid percent-encoding).
    frameworkErrors: (error, _request, reply) => {
      sendOutcome(
        reply,
        400,
        'invalid',
        error.code === 'FST_ERR_BAD_URL' ? 'The URL path is not valid percent-encoding.' : error.message,
      );
    },
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    ['application/fhir+json', 'application/json', 'application/json+fhir'],
    { parseAs: 'string' },
    (_req, body, done) => {
      try {
        done(null, parseJsonBody(body as string));
      } catch (error) {
        done(error as Error, undefined);
      }
    },
  );
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, { __form: body as string });
  });

  app.addHook('onSend', async (request, reply) => {
    setSecurityHeaders(request, reply);
  });

  // One token service for the OAuth routes that issue tokens and for /fhir that checks them.
  const tokens = new TokenService(options.store, options.tokenKeys ?? ephemeralTokenKeys(), {
    lifetimeSeconds: options.access?.tokenLifetimeSeconds,
  });

  const handle = async (request: FastifyRequest, reply: FastifyReply) => {
    // The raw path, not a normalised URL: `Patient/%2e%2e` must be refused, not resolved to the base.
    const [rawPath, rawQuery = ''] = request.url.split('?', 2) as [string, string?];
    const query = [...new URLSearchParams(rawQuery)];
    const format = query.find(([name]) => name === '_format')?.[1];
    if (format !== undefined && !JSON_FORMATS.has(format)) {
      throw new FhirError(
        406,
        `_format=${format.slice(0, 50)} is not supported; this server speaks application/fhir+json.`,
        'not-supported',
      );
    }
    let body = request.body;
    if (body && typeof body === 'object' && '__form' in body) {
      query.push(...new URLSearchParams((body as { __form: string }).__form));
      body = undefined;
    }
    const fhirRequest: FhirRequest = {
      method: request.method as FhirMethod,
      path: decodePath(rawPath.replace(/^\/fhir\/?/, '').replace(/\/+$/, '')),
      query,
      body,
      ifMatch: header(request, 'if-match'),
      ifNoneMatch: header(request, 'if-none-match'),
      ifNoneExist: header(request, 'if-none-exist'),
      strict: /handling=strict/.test(header(request, 'prefer') ?? ''),
    };
    const baseUrl = `${request.protocol}://${request.host}/fhir`;
    const audited = options.audit !== false;
    let context: FhirContext;
    if (options.accessControl === false || isPublic(fhirRequest)) {
      context = { baseUrl, agent: audited ? unauthenticatedAgent(request.ip) : undefined };
    } else {
      try {
        const principal = await authenticate(
          tokens,
          request.headers.authorization,
          baseUrl,
          options.access?.clock?.(),
        );
        const access = new AccessGuard(principal, options.access?.clock?.() ?? Date.now());
        await access.prepare(options.store);
        context = { baseUrl, agent: audited ? principalAgent(principal, request.ip) : undefined, access };
      } catch (error) {
        if (!(error instanceof TokenRequired)) throw error;
        // Recorded like any refused access, with the address it came from (no token, no name).
        if (audited)
          await options.store.appendAudit({
            agent: unauthenticatedAgent(request.ip),
            action: 'authenticate',
            outcome: 'failure',
            status: 401,
            detail: { error: error.code },
          });
        return sendUnauthorized(reply, error);
      }
    }
    const response = await routeRequest(options.store, context, fhirRequest);
    return send(reply, response, request, query);
  };
  app.register(authRoutes, { ...options.access, store: options.store, tokens });
  app.route({ method: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH'], url: '/fhir', handler: handle });
  app.route({ method: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH'], url: '/fhir/*', handler: handle });

  app.setNotFoundHandler((request, reply) => {
    sendOutcome(
      reply,
      404,
      'not-found',
      `Nothing is served at ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}; the FHIR API is at /fhir.`,
    );
  });
  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof FhirError) {
      reply.code(error.status).type(FHIR_JSON).send(error.outcome);
      return;
    }
    const status = (error as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) {
      sendOutcome(
        reply,
        status,
        status === 413 ? 'too-long' : 'invalid',
        plainMessage(error as Error, status),
      );
      return;
    }
    // Not the user's fault: log for the operator (no request data), answer without internals.
    console.error(`internal error: ${(error as Error).stack ?? String(error)}`);
    sendOutcome(
      reply,
      500,
      'exception',
      'The server could not complete this request; the error has been logged.',
    );
  });
  return app;
}

/** What anyone may read without a token: the CapabilityStatement (SMART apps discover the server there). */
function isPublic(request: FhirRequest): boolean {
  return request.path === 'metadata' && (request.method === 'GET' || request.method === 'HEAD');
}

/** Decodes each path segment on its own, so an encoded slash cannot add a segment. */
function decodePath(path: string): string {
  const segments = path.split('/').map((segment) => {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      throw new FhirError(400, 'The URL path is not valid percent-encoding.', 'invalid');
    }
    if (decoded.includes('/'))
      throw new FhirError(
        400,
        `The URL path segment "${decoded.slice(0, 100)}" contains a slash.`,
        'invalid',
      );
    return decoded;
  });
  return segments.join('/');
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function send(
  reply: FastifyReply,
  response: FhirResponse,
  request: FastifyRequest,
  query: [string, string][],
) {
  reply.code(response.status);
  if (response.location) reply.header('Location', response.location);
  if (response.etag) reply.header('ETag', response.etag);
  if (response.lastModified) reply.header('Last-Modified', response.lastModified);
  if (response.rawJson !== undefined) {
    const pretty = query.some(([name, value]) => name === '_pretty' && value === 'true');
    return reply
      .type(FHIR_JSON)
      .send(pretty ? JSON.stringify(JSON.parse(response.rawJson), null, 2) : response.rawJson);
  }
  if (response.resource === undefined) return reply.send();
  const prefer = /return=(minimal|representation|OperationOutcome)/.exec(
    header(request, 'prefer') ?? '',
  )?.[1];
  const isWrite = request.method === 'POST' || request.method === 'PUT' || request.method === 'PATCH';
  if (isWrite && prefer === 'minimal' && response.resource.resourceType !== 'Bundle') return reply.send();
  if (isWrite && prefer === 'OperationOutcome' && response.resource.resourceType !== 'OperationOutcome') {
    return reply.type(FHIR_JSON).send(
      operationOutcome([
        {
          severity: 'information',
          code: 'informational',
          diagnostics: `${response.resource.resourceType}/${(response.resource as Resource).id ?? ''} stored.`,
        },
      ]),
    );
  }
  const pretty = query.some(([name, value]) => name === '_pretty' && value === 'true');
  return reply.type(FHIR_JSON).send(JSON.stringify(response.resource, null, pretty ? 2 : undefined));
}

function sendOutcome(reply: FastifyReply, status: number, code: IssueCode, diagnostics: string) {
  reply
    .code(status)
    .type(FHIR_JSON)
    .send(operationOutcome([{ severity: 'error', code, diagnostics }]));
}

/** Fastify's own 4xx errors, reworded for a person. */
function plainMessage(error: Error & { code?: string }, status: number): string {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'The request body is larger than this server accepts.';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'Unsupported Content-Type: send application/fhir+json.';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'The request body is empty; send a FHIR resource as JSON.';
    default:
      return status === 413 ? 'The request is too large.' : error.message.slice(0, 300);
  }
}
