/** First sign-in with the one-time enrolment code the security officer handed over: set a password. */
import { csrfField, html, message, userNameField, type Html } from './html.ts';

export function enrolPage(view: { csrf: string; userName?: string; error?: string }): Html {
  return html`<h1>Set your password</h1>
    ${message('error', view.error)}
    <p>Your security officer gave you a user name and a one-time enrolment code (valid 24 hours).</p>
    <form method="post" action="/enrol">
      ${csrfField(view.csrf)} ${userNameField(view.userName)}
      <label for="code">Enrolment code</label>
      <input
        type="text"
        id="code"
        name="code"
        autocomplete="off"
        autocapitalize="none"
        spellcheck="false"
        required
      />
      <label for="password">New password</label>
      <input type="password" id="password" name="password" autocomplete="new-password" required />
      <label for="confirm">New password again</label>
      <input type="password" id="confirm" name="confirm" autocomplete="new-password" required />
      <p class="hint">
        At least 8 characters; a few unrelated words make a good one. Common and breached passwords are
        refused.
      </p>
      <button type="submit">Set password</button>
    </form>
    <p class="hint">Next you will set up an authenticator app.</p>`;
}
