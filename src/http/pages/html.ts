/**
 * What every server-rendered page shares: escaping (every interpolated value goes through
 * `escapeHtml` unless it is already Html), the frame of the page, and the strict
 * Content-Security-Policy: no scripts at all, one style sheet from this server, forms posting only
 * here, no framing. The pages' referrer policy is `same-origin` (the server's header says
 * `no-referrer`): under `no-referrer` a browser sends `Origin: null` with every form, and the forms'
 * origin check needs the real one; nothing leaves for another site either way.
 */
import type { FastifyReply } from 'fastify';

export const STYLESHEET_PATH = '/static/pages.css';

/**
 * The pages' policy; `formTargets` adds origins a form may lead to (the consent screen's app);
 * `scripts` allows script files from this server (the passkey pages), never inline script.
 */
export function pageContentSecurityPolicy(formTargets: string[] = [], scripts = false): string {
  const formAction = ["'self'", ...formTargets].join(' ');
  const scriptSource = scripts ? " script-src 'self';" : '';
  return `default-src 'none'; style-src 'self';${scriptSource} form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`;
}

/** Markup that has been escaped or built from escaped parts: the only thing `page` accepts. */
export class Html {
  constructor(readonly markup: string) {}
  toString(): string {
    return this.markup;
  }
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => ESCAPES[char]!);
}

/** Tagged template: interpolated strings are escaped, Html values and arrays of them kept. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let markup = strings[0]!;
  values.forEach((value, index) => {
    markup += render(value) + strings[index + 1]!;
  });
  return new Html(markup);
}

function render(value: unknown): string {
  if (value === undefined || value === null || value === false) return '';
  if (value instanceof Html) return value.markup;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/** A message box: an error or a notice. */
export function message(kind: 'error' | 'notice', text: string | undefined): Html {
  return text
    ? html`<p class="message ${kind}" role="${kind === 'error' ? 'alert' : 'status'}">${text}</p>`
    : html``;
}

/** The user name field of the sign-in and enrolment forms, filled in again after a refused attempt. */
export function userNameField(userName: string | undefined): Html {
  return html`<label for="user">User name</label>
    <input
      type="text"
      id="user"
      name="user"
      autocomplete="username"
      autocapitalize="none"
      spellcheck="false"
      required
      value="${userName ?? ''}"
    />`;
}

/** The CSRF token as a hidden field. */
export function csrfField(token: string): Html {
  return html`<input type="hidden" name="csrf" value="${token}" />`;
}

export function sendPage(
  reply: FastifyReply,
  options: {
    title: string;
    body: Html;
    status?: number;
    wide?: boolean;
    formTargets?: string[];
    /** Script files of this server to load (deferred), e.g. the passkey script. */
    scripts?: string[];
  },
) {
  const scripts = (options.scripts ?? []).map((src) => html`<script src="${src}" defer></script>`);
  const document = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${options.title} · ChartVault</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}">
${scripts}
</head>
<body>
<header>ChartVault</header>
<main${options.wide ? new Html(' class="wide"') : ''}>
${options.body}
</main>
</body>
</html>
`;
  return reply
    .code(options.status ?? 200)
    .header(
      'Content-Security-Policy',
      pageContentSecurityPolicy(options.formTargets, (options.scripts ?? []).length > 0),
    )
    .header('Cache-Control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(document.markup);
}

/** A page that only says something (an expired request, a refused form). */
export function sendMessagePage(
  reply: FastifyReply,
  status: number,
  title: string,
  text: string,
  link?: { href: string; label: string },
) {
  return sendPage(reply, {
    title,
    status,
    body: html`<h1>${title}</h1>
      ${message(status >= 400 ? 'error' : 'notice', text)}
      ${link ? html`<p><a href="${link.href}">${link.label}</a></p>` : ''}`,
  });
}
