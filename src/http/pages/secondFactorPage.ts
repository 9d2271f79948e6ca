/** The sign-in page, second step: a code from the authenticator app, or a recovery code. */
import { csrfField, html, message, type Html } from './html.ts';

export function secondFactorPage(view: { csrf: string; userName: string; error?: string }): Html {
  return html`<h1>Second step</h1>
    ${message('error', view.error)}
    <p>Signing in as <strong>${view.userName}</strong>.</p>
    <form method="post" action="/login/code">
      ${csrfField(view.csrf)}
      <label for="code">Code from your authenticator app</label>
      <input
        type="text"
        id="code"
        name="code"
        inputmode="numeric"
        autocomplete="one-time-code"
        autocapitalize="none"
        spellcheck="false"
        required
      />
      <p class="hint">Lost your phone? Type one of your recovery codes instead (each works once).</p>
      <button type="submit">Sign in</button>
    </form>
    <form method="post" action="/logout">
      ${csrfField(view.csrf)}
      <button type="submit" class="secondary">Cancel</button>
    </form>`;
}
