/** The sign-in page, first step: user name and password. */
import { csrfField, html, message, userNameField, type Html } from './html.ts';

export function loginPage(view: {
  csrf: string;
  next?: string;
  error?: string;
  notice?: string;
  userName?: string;
}): Html {
  return html`<h1>Sign in</h1>
    ${message('error', view.error)}${message('notice', view.notice)}
    <form method="post" action="/login">
      ${csrfField(view.csrf)}
      ${view.next ? html`<input type="hidden" name="next" value="${view.next}" />` : ''}
      ${userNameField(view.userName)}
      <label for="password">Password</label>
      <input type="password" id="password" name="password" autocomplete="current-password" required />
      <button type="submit">Continue</button>
    </form>
    <p class="hint">Next you will be asked for the code from your authenticator app (or a recovery code).</p>
    <p class="hint">
      New here with an enrolment code from your security officer? <a href="/enrol">Set your password</a>.
    </p>`;
}
