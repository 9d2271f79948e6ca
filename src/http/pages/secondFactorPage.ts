/** The sign-in page, second step: a code from the authenticator app, or a recovery code. */
import { csrfField, html, message, type Html } from './html.ts';
import { passkeyForm } from './passkeyPage.ts';

export function secondFactorPage(view: {
  csrf: string;
  userName: string;
  error?: string;
  /** WebAuthn options when the account has a passkey for this host. */
  passkeyOptions?: unknown;
}): Html {
  return html`<h1>Second step</h1>
    ${message('error', view.error)}
    <p>Signing in as <strong>${view.userName}</strong>.</p>
    ${
      view.passkeyOptions
        ? html`${passkeyForm({
              csrf: view.csrf,
              action: '/login/passkey',
              mode: 'get',
              options: view.passkeyOptions,
              label: 'Use your passkey',
            })}
            <p class="hint">Or type a code from your authenticator app:</p>`
        : ''
    }
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
