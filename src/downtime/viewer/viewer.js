// The downtime viewer: runs inside the downtime file, offline, with web standards only (WebCrypto,
// DecompressionStream, the DOM). It decrypts the contents after the passphrase is typed and lays them
// out; patient data only ever goes into the page through textContent, never as markup.
'use strict';

(() => {
  const envelope = JSON.parse(document.getElementById('envelope').textContent);
  const $ = (id) => document.getElementById(id);
  const SVG = 'http://www.w3.org/2000/svg';
  /** Above this many patients the print packet is built only when printing. */
  const EAGER_PACKET_LIMIT = 300;

  let content;
  // Intl formatters are costly to create, and a packet formats thousands of dates: make each once.
  let instantFormat;
  let dateFormat;
  let currentDay = 0;
  let packetBuilt = false;

  // ---- Unlocking ----------------------------------------------------------------------------------

  $('lock-asof').textContent = `Data as of ${formatInstant(envelope.asOf)} (${ageText(envelope.asOf)} ago).`;
  $('unlock').addEventListener('submit', (event) => {
    event.preventDefault();
    void unlock($('passphrase').value);
  });

  async function unlock(passphrase) {
    const message = $('lock-message');
    const button = $('unlock-button');
    if (!passphrase) {
      message.textContent = 'Type the downtime passphrase, then press Enter.';
      return;
    }
    button.disabled = true;
    message.textContent = 'Opening…';
    // Marks for the benchmark: where the time from passphrase to schedule goes.
    performance.mark('downtime-unlock');
    let plain;
    try {
      plain = await decrypt(passphrase);
      performance.mark('downtime-decrypted');
    } catch {
      button.disabled = false;
      $('passphrase').value = '';
      $('passphrase').focus();
      message.textContent =
        'That passphrase does not open this copy. Check Caps Lock and try again; the practice’s security point person holds the current passphrase.';
      return;
    }
    try {
      content = JSON.parse(await gunzip(plain));
    } catch {
      button.disabled = false;
      message.textContent = 'This file is damaged and cannot be read. Use another downtime copy.';
      return;
    }
    $('passphrase').value = '';
    message.textContent = '';
    performance.mark('downtime-parsed');
    showApp();
    performance.mark('downtime-shown');
  }

  async function decrypt(passphrase) {
    const encoder = new TextEncoder();
    const material = await crypto.subtle.importKey(
      'raw',
      // As the exporter does: NFC, without surrounding spaces.
      encoder.encode(passphrase.normalize('NFC').trim()),
      'PBKDF2',
      false,
      ['deriveKey'],
    );
    const key = await crypto.subtle.deriveKey(
      {
        name: 'PBKDF2',
        hash: 'SHA-256',
        salt: base64Bytes(envelope.kdf.salt),
        iterations: envelope.kdf.iterations,
      },
      material,
      { name: 'AES-GCM', length: 256 },
      false,
      ['decrypt'],
    );
    return crypto.subtle.decrypt(
      {
        name: 'AES-GCM',
        iv: base64Bytes(envelope.cipher.iv),
        additionalData: encoder.encode(additionalData()),
      },
      key,
      base64Bytes(envelope.data),
    );
  }

  /** The fields shown or used before unlocking, authenticated with the contents (as downtimeCrypto.ts does). */
  function additionalData() {
    const { format, kdf, cipher, asOf } = envelope;
    return [format, kdf.name, kdf.hash, kdf.iterations, kdf.salt, cipher.name, cipher.iv, asOf].join('|');
  }

  function gunzip(bytes) {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Response(stream).text();
  }

  function base64Bytes(text) {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  // ---- The unlocked app -------------------------------------------------------------------------------

  function showApp() {
    instantFormat = undefined; // from now on, times show in the practice's zone
    $('lock').hidden = true;
    $('app').hidden = false;
    $('practice').textContent = content.practiceName
      ? `Downtime copy: ${content.practiceName}`
      : 'Downtime copy';
    const watermark = `Exported by ${content.exportedBy} at ${formatInstant(content.asOf)}. Confidential patient information: keep this copy and its printouts secure.`;
    $('watermark').textContent = watermark;
    addPrintedFooter(
      `ChartVault downtime copy · data as of ${formatInstant(content.asOf)} · exported by ${content.exportedBy} · confidential`,
    );
    updateAge();
    setInterval(updateAge, 60_000);
    $('nav-schedule').addEventListener('click', () => go('#day-0'));
    $('nav-print').addEventListener('click', () => {
      buildPacket();
      window.print();
    });
    window.addEventListener('beforeprint', buildPacket);
    window.addEventListener('hashchange', route);
    document.addEventListener('keydown', onKey);
    setUpSearch();
    route();
    // After the schedule has been painted: staff see it first, the packet follows.
    if (content.patients.length <= EAGER_PACKET_LIMIT)
      requestAnimationFrame(() => setTimeout(buildPacket, 0));
  }

  function updateAge() {
    const hours = (Date.now() - Date.parse(content.asOf)) / 3_600_000;
    $('asof').textContent = `Data as of ${formatInstant(content.asOf)} (${ageText(content.asOf)} ago)`;
    const banner = $('stale');
    banner.hidden = !(hours > content.staleAfterHours);
    banner.textContent = `This copy is ${ageText(content.asOf)} old: anything recorded since ${formatInstant(content.asOf)} is missing. Check for a newer downtime copy, and confirm medications and allergies with the patient.`;
  }

  function go(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  }

  function route() {
    const patient = /^#patient-(\d+)$/.exec(location.hash);
    const day = /^#day-(\d+)$/.exec(location.hash);
    const view = $('view');
    view.replaceChildren();
    if (patient && content.patients[Number(patient[1])]) {
      view.append(renderChart(content.patients[Number(patient[1])], false));
      document.title = 'Chart · ChartVault downtime copy';
      view.querySelector('h1').focus();
    } else {
      currentDay = day ? Math.min(Number(day[1]), content.days.length - 1) : 0;
      view.append(renderSchedule(currentDay));
      document.title = 'Schedule · ChartVault downtime copy';
    }
    window.scrollTo(0, 0);
  }

  function onKey(event) {
    const typing = event.target instanceof HTMLInputElement;
    if (event.key === '/' && !typing) {
      event.preventDefault();
      $('search').focus();
    } else if (event.key === 'Escape' && !typing) {
      go(`#day-${currentDay}`);
    } else if (
      !typing &&
      /^#day-|^$/.test(location.hash) &&
      (event.key === 'ArrowRight' || event.key === 'ArrowLeft')
    ) {
      const next = currentDay + (event.key === 'ArrowRight' ? 1 : -1);
      if (next >= 0 && next < content.days.length) go(`#day-${next}`);
    }
  }

  // ---- Schedule ---------------------------------------------------------------------------------------

  function renderSchedule(dayIndex) {
    const section = el('section', { class: 'schedule' });
    const tabs = el('div', { class: 'days', role: 'group', 'aria-label': 'Clinic days' });
    content.days.forEach((day, i) => {
      const count = day.clinicians.reduce((n, c) => n + c.appointments.length, 0);
      const button = el('button', { type: 'button', 'aria-pressed': String(i === dayIndex) });
      button.textContent = `${dayLabel(day.localDate)} (${count})`;
      button.addEventListener('click', () => go(`#day-${i}`));
      tabs.append(button);
    });
    section.append(tabs);
    const day = content.days[dayIndex];
    section.append(el('h1', {}, `Schedule for ${dayLabel(day.localDate)}`));
    if (content.restrictedLeftOut > 0) {
      section.append(
        el(
          'p',
          { class: 'sub' },
          `${content.restrictedLeftOut} restricted chart(s) are not in this copy; their appointments show without a name.`,
        ),
      );
    }
    section.append(...renderDay(day, true));
    return section;
  }

  function renderDay(day, links) {
    if (day.clinicians.length === 0) return [el('p', { class: 'empty' }, 'No appointments on this day.')];
    return day.clinicians.map((clinician) => {
      const block = el('div', { class: 'clinician' });
      block.append(el('h2', {}, `${clinician.name} (${clinician.appointments.length})`));
      const table = el('table');
      const head = el('tr');
      for (const title of ['Time', 'Patient', 'Born', 'Visit', 'Status'])
        head.append(el('th', { scope: 'col' }, title));
      table.append(el('thead', {}, head));
      const body = el('tbody');
      for (const visit of clinician.appointments) {
        const row = el('tr', { class: `status-${visit.status}` });
        row.append(
          el('td', { class: 'time' }, visit.localTime + (visit.minutes ? ` · ${visit.minutes}′` : '')),
        );
        const patient = visit.patient === undefined ? undefined : content.patients[visit.patient];
        const cell = el('td');
        if (patient && links)
          cell.append(el('a', { class: 'patient', href: `#patient-${visit.patient}` }, patient.name));
        else cell.textContent = patient ? patient.sortName : visit.patientLabel;
        row.append(cell);
        row.append(
          el('td', {}, patient ? `${patient.birthDate ?? ''} ${patient.age ? `(${patient.age})` : ''}` : ''),
        );
        row.append(el('td', { class: 'reason' }, visit.reason));
        row.append(el('td', {}, visit.status));
        body.append(row);
      }
      table.append(body);
      block.append(table);
      return block;
    });
  }

  // ---- Chart --------------------------------------------------------------------------------------------

  function renderChart(p, forPrint) {
    const article = el('article', { class: 'chart' });
    const head = el('div', { class: 'chart-head' });
    head.append(el('h1', { tabindex: '-1' }, p.name));
    const facts = [
      p.birthDate ? `Born ${p.birthDate}${p.age ? ` (${p.age})` : ''}` : 'Birth date not recorded',
      p.gender,
      ...p.identifiers,
    ].filter(Boolean);
    head.append(el('span', { class: 'facts' }, facts.join(' · ')));
    article.append(head);
    if (p.visits.length) article.append(el('p', { class: 'sub' }, `Scheduled: ${p.visits.join('; ')}`));

    const allergies = el('div', { class: 'allergy-box' });
    allergies.append(el('h2', {}, 'Allergies and intolerances'));
    allergies.append(
      list(
        p.allergies,
        (a) =>
          `${a.text}${a.criticality ? ` (criticality: ${a.criticality})` : ''}${a.reactions.length ? `: ${a.reactions.join(', ')}` : ''}`,
        'No allergy record in this copy: ask the patient.',
      ),
    );
    article.append(allergies);
    if (p.advanceDirectives.length) {
      article.append(el('h2', {}, 'Advance directives'));
      article.append(
        list(p.advanceDirectives, (d) => `${d.text}${d.date ? ` (${formatDate(d.date)})` : ''}`),
      );
    }

    const grid = el('div', { class: 'grid' });
    const problems = el('section');
    problems.append(el('h2', {}, 'Problems'));
    problems.append(
      list(
        p.problems,
        (c) => `${c.text}${c.onset ? ` (since ${formatDate(c.onset)})` : ''}`,
        'None recorded.',
      ),
    );
    const meds = el('section');
    meds.append(el('h2', {}, 'Active medications'));
    meds.append(
      listOf(p.medications, 'None recorded.', (m) => {
        const item = el('li', {}, m.text);
        const detail = [
          m.dosage,
          m.since ? `since ${formatDate(m.since)}` : '',
          m.prescriber,
          m.status !== 'active' ? m.status : '',
        ]
          .filter(Boolean)
          .join(' · ');
        if (detail) item.append(el('div', { class: 'sub' }, detail));
        return item;
      }),
    );
    grid.append(problems, meds);
    article.append(grid);

    article.append(el('h2', {}, 'Recent lab results'));
    article.append(resultsTable(p.labs, 'No lab results in this copy.'));
    if (p.omitted.labs)
      article.append(el('p', { class: 'sub' }, `${p.omitted.labs} older lab results are not in this copy.`));
    article.append(el('h2', {}, 'Recent vital signs'));
    article.append(resultsTable(p.vitals, 'No vital signs in this copy.'));

    const grid2 = el('div', { class: 'grid' });
    const referrals = el('section');
    referrals.append(el('h2', {}, 'Open referrals and orders'));
    referrals.append(
      list(
        p.referrals,
        (r) =>
          `${r.text} (${r.status}${r.date ? `, ${formatDate(r.date)}` : ''})${r.to ? ` to ${r.to}` : ''}${r.progress ? `: ${r.progress}` : ''}`,
        'None open.',
      ),
    );
    const immunizations = el('section');
    immunizations.append(el('h2', {}, 'Immunizations'));
    immunizations.append(
      list(p.immunizations, (i) => `${i.text}${i.date ? ` (${formatDate(i.date)})` : ''}`, 'None recorded.'),
    );
    grid2.append(referrals, immunizations);
    article.append(grid2);

    article.append(el('h2', {}, 'Last notes'));
    if (p.notes.length === 0) article.append(el('p', { class: 'empty' }, 'No notes in this copy.'));
    p.notes.forEach((note, i) => {
      const details = el('details', { class: 'note' });
      if (forPrint || i === 0) details.open = true;
      details.append(
        el(
          'summary',
          {},
          `${note.title}${note.date ? `, ${formatDate(note.date)}` : ''}${note.author ? `, ${note.author}` : ''}`,
        ),
      );
      details.append(el('pre', {}, note.text));
      article.append(details);
    });

    const grid3 = el('div', { class: 'grid' });
    const contact = el('section');
    contact.append(el('h2', {}, 'Contact details'));
    contact.append(
      list(
        [
          ...p.telecom,
          ...p.address,
          p.language ? `Language: ${p.language}` : '',
          p.generalPractitioner ? `Primary care: ${p.generalPractitioner}` : '',
          ...p.contacts.map(
            (c) =>
              `${c.relationship ? `${c.relationship}: ` : ''}${c.name}${c.telecom.length ? `, ${c.telecom.join(', ')}` : ''}`,
          ),
        ].filter(Boolean),
        (line) => line,
        'None recorded.',
      ),
    );
    const team = el('section');
    team.append(el('h2', {}, 'Care team'));
    team.append(list(p.careTeam, (m) => `${m.name}${m.role ? ` (${m.role})` : ''}`, 'None recorded.'));
    grid3.append(contact, team);
    article.append(grid3);
    return article;
  }

  function resultsTable(series, emptyText) {
    if (series.length === 0) return el('p', { class: 'empty' }, emptyText);
    const table = el('table', { class: 'results-table' });
    const head = el('tr');
    for (const title of ['Test', 'Latest', 'Date', 'Trend (oldest to newest)'])
      head.append(el('th', { scope: 'col' }, title));
    table.append(el('thead', {}, head));
    const body = el('tbody');
    for (const s of series) {
      const last = s.points[s.points.length - 1];
      const row = el('tr');
      row.append(el('td', {}, s.name));
      const latest = el('td', {}, last.text);
      if (last.flag) latest.append(' ', el('span', { class: 'flag' }, `(${last.flag})`));
      row.append(latest);
      row.append(el('td', {}, formatDate(last.date)));
      const trend = el('td');
      const svg = trendPlot(s);
      if (svg) trend.append(svg);
      else if (s.points.length > 1) trend.textContent = s.points.map((pt) => pt.text).join(' → ');
      row.append(trend);
      body.append(row);
    }
    table.append(body);
    return table;
  }

  /** A small line plot of a series with numbers, with its reference range as a band. */
  function trendPlot(series) {
    const points = series.points.filter((pt) => pt.values.some((v) => typeof v === 'number'));
    if (points.length < 2) return null;
    const width = 240;
    const height = 64;
    const left = 34;
    const right = 6;
    const top = 6;
    const bottom = 14;
    const times = points.map((pt) => Date.parse(pt.date));
    const numbers = points.flatMap((pt) => pt.values.filter((v) => typeof v === 'number'));
    if (typeof series.low === 'number') numbers.push(series.low);
    if (typeof series.high === 'number') numbers.push(series.high);
    let min = Math.min(...numbers);
    let max = Math.max(...numbers);
    if (min === max) {
      min -= 1;
      max += 1;
    }
    const t0 = Math.min(...times);
    const t1 = Math.max(...times);
    const x = (t) => left + (t1 === t0 ? 0.5 : (t - t0) / (t1 - t0)) * (width - left - right);
    const y = (v) => top + (1 - (v - min) / (max - min)) * (height - top - bottom);
    const svg = svgEl('svg', { class: 'trend', viewBox: `0 0 ${width} ${height}`, role: 'img' });
    svg.append(
      svgEl(
        'title',
        {},
        `${series.name}: ${points.map((pt) => `${pt.text} on ${formatDate(pt.date)}`).join(', ')}`,
      ),
    );
    if (typeof series.low === 'number' && typeof series.high === 'number') {
      svg.append(
        svgEl('rect', {
          class: 'band',
          x: left,
          y: y(series.high),
          width: width - left - right,
          height: Math.max(1, y(series.low) - y(series.high)),
        }),
      );
    }
    const lines = Math.max(...points.map((pt) => pt.values.length));
    for (let line = 0; line < Math.min(lines, 2); line++) {
      const coords = points
        .map((pt, i) => (typeof pt.values[line] === 'number' ? [x(times[i]), y(pt.values[line])] : null))
        .filter(Boolean);
      svg.append(
        svgEl('polyline', { class: `line${line}`, points: coords.map((c) => c.join(',')).join(' ') }),
      );
      for (const [cx, cy] of coords) svg.append(svgEl('circle', { class: `dot${line}`, cx, cy, r: 2.5 }));
    }
    svg.append(svgEl('text', { x: 2, y: top + 8 }, shortNumber(max)));
    svg.append(svgEl('text', { x: 2, y: height - bottom }, shortNumber(min)));
    svg.append(svgEl('text', { x: left, y: height - 2 }, formatDate(points[0].date)));
    svg.append(
      svgEl(
        'text',
        { x: width - right, y: height - 2, 'text-anchor': 'end' },
        formatDate(points[points.length - 1].date),
      ),
    );
    return svg;
  }

  // ---- Search -------------------------------------------------------------------------------------------

  function setUpSearch() {
    const input = $('search');
    const results = $('search-results');
    let matches = [];
    let selected = 0;
    const show = () => {
      results.replaceChildren();
      results.hidden = matches.length === 0 && input.value.trim() === '';
      if (input.value.trim() && matches.length === 0)
        results.append(el('li', {}, 'No patient in this copy matches.'));
      matches.forEach((index, i) => {
        const p = content.patients[index];
        const item = el('li', { role: 'option', id: `result-${i}`, 'aria-selected': String(i === selected) });
        item.textContent = `${p.sortName}, born ${p.birthDate ?? 'unknown'}`;
        item.addEventListener('mousedown', (event) => {
          event.preventDefault();
          open(index);
        });
        results.append(item);
      });
      input.setAttribute('aria-activedescendant', matches.length ? `result-${selected}` : '');
    };
    const open = (index) => {
      input.value = '';
      matches = [];
      show();
      input.blur();
      go(`#patient-${index}`);
    };
    input.addEventListener('input', () => {
      matches = findPatients(input.value);
      selected = 0;
      show();
    });
    input.addEventListener('keydown', (event) => {
      if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        event.preventDefault();
        if (matches.length)
          selected = (selected + (event.key === 'ArrowDown' ? 1 : matches.length - 1)) % matches.length;
        show();
      } else if (event.key === 'Enter') {
        event.preventDefault();
        if (matches.length) open(matches[selected]);
      } else if (event.key === 'Escape') {
        input.value = '';
        matches = [];
        show();
        input.blur();
      }
    });
    input.addEventListener('blur', () => setTimeout(() => (results.hidden = true), 150));
  }

  /** Patients whose name contains every word typed, or whose birth date matches a typed date. */
  function findPatients(query) {
    const text = fold(query.trim());
    if (!text) return [];
    const date = typedDate(query.trim());
    const words = text.split(/\s+/);
    const found = [];
    content.patients.forEach((p, i) => {
      const name = fold(`${p.name} ${p.sortName}`);
      const byName = words.every((w) => name.includes(w.replace(/,$/, '')));
      const byDate = date && p.birthDate && p.birthDate.startsWith(date);
      if (byName || byDate) found.push(i);
    });
    found.sort((a, b) => content.patients[a].sortName.localeCompare(content.patients[b].sortName));
    return found.slice(0, 30);
  }

  /** Reads 1975-04-03, 04/03/1975, 3.4.1975 (day first) or a year as the start of a birth date. */
  function typedDate(text) {
    let m = /^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$/.exec(text);
    if (m)
      return [m[1], m[2], m[3]]
        .filter(Boolean)
        .map((part, i) => (i ? part.padStart(2, '0') : part))
        .join('-');
    m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(text);
    if (m) return `${m[3]}-${m[1].padStart(2, '0')}-${m[2].padStart(2, '0')}`;
    m = /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/.exec(text);
    if (m) return `${m[3]}-${m[2].padStart(2, '0')}-${m[1].padStart(2, '0')}`;
    return undefined;
  }

  function fold(text) {
    return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
  }

  // ---- Print packet -----------------------------------------------------------------------------------

  function buildPacket() {
    if (packetBuilt || !content) return;
    packetBuilt = true;
    const packet = $('packet');
    const cover = el('section', { class: 'packet-day' });
    cover.append(el('h1', {}, `${content.practiceName ?? 'Practice'}: downtime packet`));
    cover.append(
      el('p', {}, `Data as of ${formatInstant(content.asOf)}. Exported by ${content.exportedBy}.`),
    );
    cover.append(
      el(
        'p',
        {},
        `${content.days.length} clinic day(s), ${content.patients.length} patient chart(s). Destroy this packet (shred) when the system is back.`,
      ),
    );
    packet.append(cover);
    for (const day of content.days) {
      const section = el('section', { class: 'packet-day' });
      section.append(packetLine(), el('h1', {}, `Schedule for ${dayLabel(day.localDate)}`));
      section.append(...renderDay(day, false));
      packet.append(section);
    }
    const order = content.patients.map((_, i) => i);
    order.sort((a, b) => content.patients[a].sortName.localeCompare(content.patients[b].sortName));
    for (const index of order) {
      const section = el('section', { class: 'packet-patient' });
      section.append(packetLine(), renderChart(content.patients[index], true));
      packet.append(section);
    }
    document.body.dataset.packet = 'ready';
  }

  /** Every printed page carries the data's age and the watermark, in the page margin (CSS paged media). */
  function addPrintedFooter(text) {
    const quoted = `"${text.replace(/[\\"]/g, (c) => `\\${c}`).replace(/[\n\r]/g, ' ')}"`;
    const rule = `@page { @bottom-left { content: ${quoted}; font-size: 8pt; color: #333; } @bottom-right { content: "Page " counter(page) " of " counter(pages); font-size: 8pt; color: #333; } }`;
    const sheet = document.styleSheets[0];
    try {
      sheet.insertRule(rule, sheet.cssRules.length);
    } catch {
      // Browsers without page-margin boxes still print the same line at the top of every section.
    }
  }

  function packetLine() {
    return el(
      'p',
      { class: 'packet-line' },
      `Data as of ${formatInstant(content.asOf)} · exported by ${content.exportedBy} · confidential`,
    );
  }

  // ---- Small helpers ----------------------------------------------------------------------------------

  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    for (const child of children) node.append(child);
    return node;
  }

  function svgEl(tag, attributes = {}, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function list(items, text, emptyText) {
    return listOf(items, emptyText, (item) => el('li', {}, text(item)));
  }

  function listOf(items, emptyText, render) {
    if (items.length === 0) return el('p', { class: 'empty' }, emptyText ?? 'None.');
    const ul = el('ul', { class: 'plain' });
    for (const item of items) ul.append(render(item));
    return ul;
  }

  function formatInstant(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return iso;
    instantFormat ??= new Intl.DateTimeFormat(undefined, {
      timeZone: content?.timeZone,
      dateStyle: 'medium',
      timeStyle: 'short',
    });
    return instantFormat.format(date);
  }

  /** Dates as YYYY-MM-DD in the practice's zone: unambiguous wherever the file is opened. */
  function formatDate(value) {
    if (!value) return '';
    if (/^\d{4}(-\d{2}(-\d{2})?)?$/.test(value)) return value;
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) return String(value).slice(0, 10);
    dateFormat ??= new Intl.DateTimeFormat('en-CA', {
      timeZone: content.timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    return dateFormat.format(date);
  }

  function dayLabel(localDate) {
    const date = new Date(`${localDate}T12:00:00Z`);
    const label = new Intl.DateTimeFormat(undefined, {
      timeZone: 'UTC',
      weekday: 'short',
      day: 'numeric',
      month: 'short',
    }).format(date);
    return localDate === formatDate(new Date().toISOString()) ? `${label} (today)` : label;
  }

  function ageText(iso) {
    const minutes = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 60_000));
    if (minutes < 90) return `${minutes} minute${minutes === 1 ? '' : 's'}`;
    const hours = Math.round(minutes / 60);
    if (hours < 48) return `${hours} hours`;
    return `${Math.round(hours / 24)} days`;
  }

  function shortNumber(n) {
    return Math.abs(n) >= 100 ? String(Math.round(n)) : String(Math.round(n * 10) / 10);
  }
})();
