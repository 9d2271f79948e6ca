/**
 * The server-rendered pages as one fastify plugin: the style sheet, the sign-in pages and the SMART
 * authorization pages. Errors inside these routes become a plain page, never a stack trace.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { SessionStore, type SessionPolicy } from '../../access/sessions.ts';
import type { ResourceStore } from '../../store/index.ts';
import { authorizeRoutes } from './authorizeRoutes.ts';
import { sendMessagePage, STYLESHEET_PATH } from './html.ts';
import { signInRoutes } from './signInRoutes.ts';

export interface PageRouteOptions {
  store: ResourceStore;
  sessionPolicy?: SessionPolicy;
  /** The clock (epoch ms); tests move it to reach idle and absolute timeouts. */
  clock?: () => number;
}

const STYLESHEET = readFileSync(new URL('../static/pages.css', import.meta.url), 'utf8');
/** The passkey forms' scripts: the WebAuthn helper library (its browser bundle) and ours. */
const SCRIPTS: Record<string, string> = {
  // The package exports only its module entry points; its bundle sits beside them in the package.
  '/static/webauthn.js': readFileSync(
    join(
      dirname(createRequire(import.meta.url).resolve('@simplewebauthn/browser')),
      '../dist/bundle/index.umd.min.js',
    ),
    'utf8',
  ),
  '/static/passkey.js': readFileSync(new URL('../static/passkey.js', import.meta.url), 'utf8'),
};

export async function pageRoutes(app: FastifyInstance, options: PageRouteOptions): Promise<void> {
  const sessions = new SessionStore(options.store, options.sessionPolicy, options.clock);
  const context = { store: options.store, sessions };

  app.setErrorHandler((error, _request, reply) => {
    const status = (error as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) {
      return sendMessagePage(
        reply,
        status,
        'Request refused',
        'The request could not be read; go back and try again.',
      );
    }
    console.error(`internal error on a page: ${(error as Error).stack ?? String(error)}`);
    return sendMessagePage(
      reply,
      500,
      'Something went wrong',
      'The server could not complete this request; the error has been logged.',
    );
  });

  app.get(STYLESHEET_PATH, async (_request, reply) =>
    reply.header('Cache-Control', 'public, max-age=3600').type('text/css; charset=utf-8').send(STYLESHEET),
  );
  for (const [path, script] of Object.entries(SCRIPTS))
    app.get(path, async (_request, reply) =>
      reply
        .header('Cache-Control', 'public, max-age=3600')
        .type('text/javascript; charset=utf-8')
        .send(script),
    );
  app.get('/', async (_request, reply) => reply.redirect('/account', 303));
  signInRoutes(app, context);
  authorizeRoutes(app, context);
}
