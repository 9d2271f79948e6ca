/**
 * Setting up the authenticator app: the QR code (inline SVG, so the page loads nothing but its style
 * sheet) and the secret as text, a first code to confirm it, then the recovery codes, shown once.
 */
import { csrfField, html, Html, message } from './html.ts';

export function mfaEnrolPage(view: {
  csrf: string;
  userName: string;
  secret: string;
  qrSvg: string;
  error?: string;
}): Html {
  // The SVG is made by the qrcode library from our own otpauth URI: markup we produced, not user input.
  const qr = new Html(view.qrSvg.replace(/<\?xml[^>]*>/, ''));
  return html`<h1>Set up your authenticator app</h1>
    ${message('error', view.error)}
    <p>
      Every person signing in to ChartVault uses a second factor. Scan this code with an authenticator app
      (such as Google Authenticator, Microsoft Authenticator, FreeOTP or 1Password) for
      <strong>${view.userName}</strong>.
    </p>
    <div class="qr" aria-label="QR code for your authenticator app">${qr}</div>
    <p>Cannot scan? Enter this key by hand (time-based, 6 digits, 30 seconds):</p>
    <p class="secret">${view.secret.match(/.{1,4}/g)?.join(' ') ?? view.secret}</p>
    <form method="post" action="/mfa/enrol">
      ${csrfField(view.csrf)}
      <label for="code">The 6-digit code your app shows now</label>
      <input type="text" id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required />
      <button type="submit">Confirm</button>
    </form>
    <p class="hint">Passkeys are not offered yet; see the documentation (docs/access.md).</p>`;
}

export function recoveryCodesPage(view: { codes: string[]; next: string }): Html {
  return html`<h1>Your recovery codes</h1>
    ${message('notice', 'Your authenticator app is set up and you are signed in.')}
    <p>
      If you lose your phone, each of these codes signs you in once in place of the app's code. Print them or
      write them down and keep them somewhere safe. <strong>They are shown only now.</strong>
    </p>
    <ol class="codes">
      ${view.codes.map((code) => html`<li>${code}</li>`)}
    </ol>
    <p><a href="${view.next}">Continue</a></p>`;
}
