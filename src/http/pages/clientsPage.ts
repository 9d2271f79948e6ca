/** The security officer's page of registered systems: the list, a form to register one, revocation. */
import type { ClientSummary } from '../../access/clients.ts';
import { csrfField, html, message, type Html } from './html.ts';

export function clientsPage(view: {
  csrf: string;
  clients: ClientSummary[];
  error?: string;
  notice?: string;
  /** A client just registered with a secret: shown once, here only. */
  added?: { clientId: string; clientSecret: string; name: string };
}): Html {
  return html`<h1>Registered systems</h1>
    ${message('error', view.error)} ${message('notice', view.notice)}
    ${
      view.added
        ? html`<div class="message notice" role="status">
            <p>
              Registered <strong>${view.added.name}</strong>. Give these to whoever sets the system up; the
              secret is shown only now.
            </p>
            <p>client_id: <code id="client-id">${view.added.clientId}</code></p>
            <p>client_secret: <code id="client-secret">${view.added.clientSecret}</code></p>
          </div>`
        : ''
    }
    <table>
      <thead>
        <tr>
          <th>Name</th>
          <th>Client id</th>
          <th>Scopes</th>
          <th>Registered</th>
          <th>Status</th>
          <th></th>
        </tr>
      </thead>
      <tbody>
        ${view.clients.map(
          (client) =>
            html`<tr>
              <td>${client.name}</td>
              <td><code>${client.clientId}</code></td>
              <td>${client.scopes.join(' ')}</td>
              <td>${client.created.slice(0, 10)} by ${client.createdBy}</td>
              <td>${client.revoked ? 'revoked' : 'active'}</td>
              <td>
                ${
                  client.revoked
                    ? ''
                    : html`<form method="post" action="/admin/clients/revoke" class="inline">
                        ${csrfField(view.csrf)}
                        <input type="hidden" name="client_id" value="${client.clientId}" />
                        <button type="submit" class="secondary">Revoke</button>
                      </form>`
                }
              </td>
            </tr>`,
        )}
      </tbody>
    </table>
    <h2>Register a system</h2>
    <form method="post" action="/admin/clients">
      ${csrfField(view.csrf)}
      <label for="name">Name</label>
      <input type="text" id="name" name="name" required maxlength="200" />
      <label for="scopes">Scopes</label>
      <input type="text" id="scopes" name="scopes" required value="system/*.rs" spellcheck="false" />
      <p class="hint">
        What the system may do, in SMART form: <code>system/*.rs</code> reads and searches everything;
        <code>system/*.*</code> may do everything on every type, audit trail included. It gets a secret for
        client_secret_basic; systems with their own keys (private_key_jwt) are registered with
        <code>chartvault clients add --jwks</code>.
      </p>
      <button type="submit">Register</button>
    </form>
    <p><a href="/account">Back to your account</a></p>`;
}
