/**
 * The downtime file: one HTML page holding the viewer (inline script and style) and the sealed
 * contents. Its Content-Security-Policy allows only that script and style (by hash) and no network
 * at all, so the page cannot load or send anything even if it wanted to.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Envelope } from './downtimeCrypto.ts';

// HTML parsing turns CR LF into LF before the browser hashes a script for its policy, so the text is
// hashed and inlined with LF line ends whatever the checkout (a Windows one may have CR LF).
const readViewerFile = (name: string) =>
  readFileSync(new URL(`./viewer/${name}`, import.meta.url), 'utf8').replace(/\r\n?/g, '\n');
const viewerScript = () => readViewerFile('viewer.js');
const viewerStyle = () => readViewerFile('viewer.css');

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

export function downtimePage(envelope: Envelope): string {
  const script = viewerScript();
  const style = viewerStyle();
  // JSON inside a script element: escape "<" so no text in it can close the element.
  const envelopeJson = JSON.stringify(envelope).replace(/</g, '\\u003c');
  const policy = [
    "default-src 'none'",
    `script-src ${sha256(script)}`,
    `style-src ${sha256(style)}`,
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${policy}">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ChartVault downtime copy</title>
<style>${style}</style>
</head>
<body>
<div id="lock" class="lock">
  <h1>ChartVault downtime copy</h1>
  <p id="lock-asof"></p>
  <!-- The field has no name, so even a failed script could never submit the passphrase anywhere. -->
  <form id="unlock" autocomplete="off">
    <label for="passphrase">Downtime passphrase</label>
    <input id="passphrase" type="password" autocomplete="off" autofocus required>
    <button id="unlock-button" type="submit">Open</button>
  </form>
  <p id="lock-message" class="message" role="alert" aria-live="assertive"></p>
  <p class="hint">The schedule and charts in this file are encrypted. Opening it needs the practice's downtime passphrase; nothing is sent anywhere.</p>
  <noscript><p class="message">This copy needs JavaScript, which this browser has turned off.</p></noscript>
</div>
<div id="app" hidden>
  <header class="bar">
    <span class="title" id="practice"></span>
    <span class="asof" id="asof"></span>
    <div class="search">
      <input id="search" type="search" placeholder="Find patient: name or birth date (press /)" aria-label="Find a patient by name or birth date" role="combobox" aria-controls="search-results" aria-expanded="false" autocomplete="off">
      <ul id="search-results" class="results" role="listbox" hidden></ul>
    </div>
    <nav>
      <button id="nav-schedule" type="button">Schedule</button>
      <button id="nav-print" type="button">Print packet</button>
    </nav>
  </header>
  <div id="stale" class="banner" role="alert" hidden></div>
  <div id="watermark" class="watermark"></div>
  <main id="view" class="screen"></main>
  <div id="packet" class="packet"></div>
</div>
<script type="application/json" id="envelope">${envelopeJson}</script>
<script>${script}</script>
</body>
</html>
`;
}
