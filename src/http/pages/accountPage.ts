/** The account page: who is signed in here, this account's sessions, sign out and sign out everywhere. */
import type { Session } from '../../access/sessions.ts';
import { csrfField, html, message, type Html } from './html.ts';

export interface SessionRow {
  key: string;
  session: Session;
}

export function accountPage(view: {
  csrf: string;
  userName: string;
  displayName: string;
  role: string;
  currentKey: string;
  sessions: SessionRow[];
  /** Everyone signed in, for the security officer. */
  everyone?: SessionRow[];
  recoveryCodesLeft: number;
  passkeys: number;
  notice?: string;
}): Html {
  return html`<h1>Signed in as ${view.displayName}</h1>
    ${message('notice', view.notice)}
    <p>
      User name <strong>${view.userName}</strong>, role <strong>${view.role}</strong>.
      ${view.recoveryCodesLeft < 4 ? html`<br />Only ${String(view.recoveryCodesLeft)} recovery codes are left: ask your security officer to reset your second factor to get new ones.` : ''}
    </p>
    <h2>Your sessions</h2>
    ${sessionTable(view.sessions, view.currentKey, false)}
    <form method="post" action="/logout" class="inline">
      ${csrfField(view.csrf)}<button type="submit">Sign out</button>
    </form>
    <form method="post" action="/logout/everywhere" class="inline">
      ${csrfField(view.csrf)}<button type="submit" class="secondary">Sign out everywhere</button>
    </form>
    <p class="hint">
      Sign out everywhere ends every session of your account and every app you have authorized.
    </p>
    <p><a href="/password">Change your password</a></p>
    <p>
      <a href="/mfa/passkey">Add a passkey</a>
      (${view.passkeys === 0 ? 'none yet' : `${String(view.passkeys)} on this account`}): a second step that
      cannot be phished.
    </p>
    ${
      view.everyone
        ? html`<h2>Everyone signed in now</h2>
            ${sessionTable(view.everyone, view.currentKey, true)}
            <p>
              <a href="/admin/clients">Registered systems</a>: register or revoke the systems that use the
              API.
            </p>`
        : ''
    }`;
}

function sessionTable(rows: SessionRow[], currentKey: string, showUser: boolean): Html {
  const sorted = [...rows].sort((a, b) => b.session.lastSeen - a.session.lastSeen);
  return html`<table>
    <thead>
      <tr>
        ${
          showUser
            ? html`<th>User</th>
                <th>Role</th>`
            : ''
        }
        <th>Signed in</th>
        <th>Last active</th>
        <th>From</th>
        <th>Browser</th>
      </tr>
    </thead>
    <tbody>
      ${sorted.map(
        ({ key, session }) =>
          html`<tr>
            ${
              showUser
                ? html`<td>${session.userName ?? ''}</td>
                    <td>${session.role ?? ''}</td>`
                : ''
            }
            <td>${time(session.signedInAt ?? session.created)}${key === currentKey ? ' (this one)' : ''}</td>
            <td>${time(session.lastSeen)}</td>
            <td>${session.address}</td>
            <td>${session.userAgent ?? ''}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function time(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}
