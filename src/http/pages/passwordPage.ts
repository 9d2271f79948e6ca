/** Changing one's own password: the current one, the new one twice; the policy's messages on refusal. */
import { csrfField, html, message, type Html } from './html.ts';

export function passwordPage(view: {
  csrf: string;
  userName: string;
  error?: string;
  notice?: string;
}): Html {
  return html`<h1>Change your password</h1>
    ${message('error', view.error)}${message('notice', view.notice)}
    <form method="post" action="/password">
      ${csrfField(view.csrf)}
      <input type="text" name="user" value="${view.userName}" autocomplete="username" hidden />
      <label for="current">Current password</label>
      <input type="password" id="current" name="current" autocomplete="current-password" required />
      <label for="password">New password</label>
      <input type="password" id="password" name="password" autocomplete="new-password" required />
      <label for="confirm">New password again</label>
      <input type="password" id="confirm" name="confirm" autocomplete="new-password" required />
      <p class="hint">
        At least 8 characters and at most 256; any characters; no rules about digits or symbols. Common and
        breached passwords, and ones containing your name, are refused. Your other sessions are signed out.
      </p>
      <button type="submit">Change password</button>
    </form>
    <p><a href="/account">Back to your account</a></p>`;
}
