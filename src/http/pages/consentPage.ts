/** The SMART consent screen: which app, what it asks for in plain words, the patient, allow or deny. */
import type { ConsentPlan } from '../../access/authorization.ts';
import { csrfField, html, message, type Html } from './html.ts';

export function consentPage(view: {
  csrf: string;
  requestId: string;
  appName: string;
  redirectHost: string;
  userName: string;
  plan: ConsentPlan;
  patient?: string;
  error?: string;
}): Html {
  const { plan } = view;
  return html`<h1>Allow ${view.appName} to use your ChartVault access?</h1>
    ${message('error', view.error)}
    <p>
      You are signed in as <strong>${view.userName}</strong>. The app
      <strong>${view.appName}</strong> (answers go to <strong>${view.redirectHost}</strong>) asks to:
    </p>
    ${
      plan.granted.length > 0
        ? html`<ul class="scopes">
            ${plan.granted.map((entry) => html`<li>${entry.words} <code>${entry.scope}</code></li>`)}
          </ul>`
        : html`<p>Nothing your role allows.</p>`
    }
    ${
      plan.refused.length > 0
        ? html`<div class="refused">
            <p>Not given, because your role does not allow it:</p>
            <ul>
              ${plan.refused.map((entry) => html`<li>${entry.words} <code>${entry.scope}</code></li>`)}
            </ul>
          </div>`
        : ''
    }
    <p class="hint">
      The app can never do more than your own role
      allows.${plan.refresh ? ' It may keep access (a refresh token) until you sign out everywhere, your account is disabled, or it goes 30 days unused.' : ' Its access lasts minutes.'}
    </p>
    <form method="post" action="/oauth/consent">
      ${csrfField(view.csrf)}
      <input type="hidden" name="request" value="${view.requestId}" />
      ${
        plan.needsPatient
          ? html`<label for="patient">Patient (the chart's id)</label>
              <input
                type="text"
                id="patient"
                name="patient"
                autocomplete="off"
                spellcheck="false"
                required
                value="${view.patient ?? ''}"
              />
              <p class="hint">
                The scopes &quot;of the patient you choose&quot; reach this patient's records only.
              </p>`
          : ''
      }
      <button type="submit" name="decision" value="approve">Allow</button>
      <button type="submit" name="decision" value="deny" class="secondary" formnovalidate>Deny</button>
    </form>`;
}
