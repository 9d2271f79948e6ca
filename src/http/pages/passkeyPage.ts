/** The passkey forms: adding one (from the account page) and using one in the second sign-in step. */
import { csrfField, html, message, type Html } from './html.ts';

/** The scripts a passkey form needs: the WebAuthn helper library and the forms' own script. */
export const PASSKEY_SCRIPTS = ['/static/webauthn.js', '/static/passkey.js'];

/** A form the passkey script completes: the browser's answer goes into the hidden `response` field. */
export function passkeyForm(view: {
  csrf: string;
  action: string;
  mode: 'create' | 'get';
  options: unknown;
  label: string;
}): Html {
  return html`<form
    method="post"
    action="${view.action}"
    data-passkey="${view.mode}"
    data-options="${JSON.stringify(view.options)}"
  >
    ${csrfField(view.csrf)}
    <input type="hidden" name="response" value="" />
    <button type="submit">${view.label}</button>
    <p class="hint passkey-status" role="status"></p>
  </form>`;
}

export function addPasskeyPage(view: {
  csrf: string;
  options?: unknown;
  count: number;
  obstacle?: string;
  error?: string;
}): Html {
  return html`<h1>Add a passkey</h1>
    ${message('error', view.error ?? view.obstacle)}
    <p>
      A passkey signs you in with your device's fingerprint, face or PIN, and cannot be phished: it works only
      on this server's own address. Your authenticator app keeps working as a fallback.
    </p>
    <p class="hint">
      Browsers offer passkeys only on a host name whose certificate they trust, not on a bare IP address and
      not with the self-signed certificate ChartVault makes at installation; your IT helper can install a
      trusted certificate (docs/operations.md).
    </p>
    <p>You have ${String(view.count)} ${view.count === 1 ? 'passkey' : 'passkeys'} on this account.</p>
    ${
      view.options && !view.obstacle
        ? passkeyForm({
            csrf: view.csrf,
            action: '/mfa/passkey',
            mode: 'create',
            options: view.options,
            label: 'Create a passkey on this device',
          })
        : ''
    }
    <p><a href="/account">Back to your account</a></p>`;
}
