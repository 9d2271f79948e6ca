// The passkey forms of the sign-in pages (the only script they load, besides the WebAuthn helper
// library it uses): on submit, ask the browser to create or use a passkey with the options the server
// put in the form, put the browser's answer in the form's hidden field, and send the form.
/* global SimpleWebAuthnBrowser */
'use strict';

for (const form of document.querySelectorAll('form[data-passkey]')) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const status = form.querySelector('.passkey-status');
    status.textContent = 'Waiting for your passkey…';
    try {
      const optionsJSON = JSON.parse(form.dataset.options);
      const answer =
        form.dataset.passkey === 'create'
          ? await SimpleWebAuthnBrowser.startRegistration({ optionsJSON })
          : await SimpleWebAuthnBrowser.startAuthentication({ optionsJSON });
      form.elements.response.value = JSON.stringify(answer);
      form.submit();
    } catch (error) {
      status.textContent = `No passkey was used (${error.message}). Try again, or use your authenticator app.`;
    }
  });
}
