/** Search paging over real HTTP: next links that neither skip nor repeat a match while data changes. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fhirFetch, useTestServer } from '../../test/testServer.ts';

const server = useTestServer();

const put = async (r: any) => {
  const res = await fhirFetch(`${server.base}/${r.resourceType}/${r.id}`, { method: 'PUT', body: r });
  assert.ok(res.status < 300, JSON.stringify(res.body));
};
const remove = (type: string, id: string) => fhirFetch(`${server.base}/${type}/${id}`, { method: 'DELETE' });
const tag = (code: string) => ({ tag: [{ system: 'urn:test', code }] });
const patient = (id: string, group: string, family?: string, birthDate?: string) => ({
  resourceType: 'Patient',
  id,
  meta: tag(group),
  ...(family ? { name: [{ family }] } : {}),
  ...(birthDate ? { birthDate } : {}),
});

const matchIds = (bundle: any): string[] =>
  bundle.entry.filter((e: any) => e.search.mode === 'match').map((e: any) => e.resource.id);
const link = (bundle: any, relation: string): string | undefined =>
  bundle.link.find((l: any) => l.relation === relation)?.url;

/** Follows next links from `path`, calling `between` after each page; every page's match ids in order. */
async function walk(path: string, between?: (page: number) => Promise<void>): Promise<string[][]> {
  const pages: string[][] = [];
  let url: string | undefined = `${server.base}/${path}`;
  while (url) {
    const res = await fhirFetch(url);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    pages.push(matchIds(res.body));
    url = link(res.body, 'next');
    if (between) await between(pages.length);
    assert.ok(pages.length < 100, 'paging ends');
  }
  return pages;
}

test('pages in storage order neither skip nor repeat while matches are created and deleted', async () => {
  for (let i = 0; i < 10; i++) await put(patient(`d${i}`, 'default'));
  const pages = await walk('Patient?_tag=urn:test|default&_count=3', async (page) => {
    if (page !== 1) return;
    await remove('Patient', 'd0'); // already seen: with offsets, d3 would now be skipped
    await remove('Patient', 'd5'); // not seen yet: it must not appear
    await put(patient('d10', 'default')); // created meanwhile: it comes after the others
  });
  const seen = pages.flat();
  assert.equal(new Set(seen).size, seen.length, `no match repeats: ${seen.join(' ')}`);
  assert.deepEqual(seen, ['d0', 'd1', 'd2', 'd3', 'd4', 'd6', 'd7', 'd8', 'd9', 'd10']);
  assert.ok(
    pages.every((p) => p.length <= 3),
    'each page holds at most _count matches',
  );
});

test('sorted pages (ties, missing values, several keys) follow the order of one big page', async () => {
  const rows: [string, string | undefined, string | undefined][] = [
    ['s1', 'Baker', '1980-01-01'],
    ['s2', 'Baker', '1980-01-01'],
    ['s3', 'Adams', '1990-05-05'],
    ['s4', undefined, '1985-03-03'],
    ['s5', 'Clark', undefined],
    ['s6', 'Baker', '1975-07-07'],
    ['s7', 'Adams', undefined],
    ['s8', undefined, undefined],
    ['s9', 'Clark', '1980-01-01'],
  ];
  for (const [id, family, birthDate] of rows) await put(patient(id, 'sorted', family, birthDate));
  for (const sort of ['-birthdate', 'birthdate', 'family,-birthdate', '-family,birthdate,-_id', '_id']) {
    const query = `Patient?_tag=urn:test|sorted&_sort=${sort}`;
    const whole = await fhirFetch(`${server.base}/${query}&_count=100`);
    const expected = matchIds(whole.body);
    assert.equal(expected.length, rows.length);
    if (sort === 'birthdate' || sort === '-birthdate') {
      // Patients without a birth date come last in either direction; ties in storage order, reversed
      // when the sort is descending.
      const undated = sort === 'birthdate' ? ['s5', 's7', 's8'] : ['s8', 's7', 's5'];
      assert.deepEqual(expected.slice(-3), undated, `_sort=${sort}`);
      const dated = expected.slice(0, 2).map((id) => rows.find((row) => row[0] === id)![2]);
      assert.deepEqual(
        dated,
        sort === 'birthdate' ? ['1975-07-07', '1980-01-01'] : ['1990-05-05', '1985-03-03'],
      );
    }
    for (const count of [1, 2, 4]) {
      const pages = await walk(`${query}&_count=${count}`);
      assert.deepEqual(pages.flat(), expected, `_sort=${sort} _count=${count}`);
    }
  }
});

test('previous links walk back through the same pages', async () => {
  for (const sort of ['_id', '-birthdate', 'family,-birthdate']) {
    const forward: { ids: string[]; bundle: any }[] = [];
    let url: string | undefined = `${server.base}/Patient?_tag=urn:test|sorted&_sort=${sort}&_count=2`;
    while (url) {
      const res = await fhirFetch(url);
      forward.push({ ids: matchIds(res.body), bundle: res.body });
      url = link(res.body, 'next');
    }
    assert.equal(link(forward[0]!.bundle, 'previous'), undefined, 'the first page has no previous');
    const backward: string[][] = [];
    url = link(forward[forward.length - 1]!.bundle, 'previous');
    while (url) {
      const res = await fhirFetch(url);
      backward.push(matchIds(res.body));
      url = link(res.body, 'previous');
    }
    assert.deepEqual(
      backward.reverse(),
      forward.slice(0, -1).map((p) => p.ids),
      `_sort=${sort}`,
    );
  }
  // A page reached backwards links forward to the page it came from.
  const first = await fhirFetch(`${server.base}/Patient?_tag=urn:test|sorted&_sort=_id&_count=3`);
  const second = await fhirFetch(link(first.body, 'next')!);
  const back = await fhirFetch(link(second.body, 'previous')!);
  assert.deepEqual(matchIds(back.body), matchIds(first.body));
  const again = await fhirFetch(link(back.body, 'next')!);
  assert.deepEqual(matchIds(again.body), matchIds(second.body));
});

test('a sorted search keeps its place when a match sorts in before or after the cursor', async () => {
  for (const [id, family] of [
    ['m1', 'Miller'],
    ['m2', 'Moore'],
    ['m3', 'Murphy'],
    ['m4', 'Myers'],
  ])
    await put(patient(id!, 'moving', family));
  const pages = await walk('Patient?_tag=urn:test|moving&_sort=family&_count=2', async (page) => {
    if (page !== 1) return;
    await remove('Patient', 'm1'); // seen on page 1
    await put(patient('m0', 'moving', 'Mabry')); // sorts before the cursor: belongs to a page already read
    await put(patient('m5', 'moving', 'Mueller')); // sorts after the cursor: comes next
  });
  assert.deepEqual(pages.flat(), ['m1', 'm2', 'm5', 'm3', 'm4']);
});

test('numbers with open ranges page by their infinite ends', async () => {
  const risk = (id: string, probability: object) => ({
    resourceType: 'RiskAssessment',
    id,
    status: 'final',
    subject: { reference: 'Patient/x' },
    prediction: [probability],
  });
  await put(risk('r1', { probabilityRange: { high: { value: 0.3 } } })); // low end -Infinity
  await put(risk('r2', { probabilityDecimal: 0.1 }));
  await put(risk('r3', { probabilityRange: { high: { value: 0.6 } } }));
  await put(risk('r4', { probabilityDecimal: 0.5 }));
  const pages = await walk('RiskAssessment?_sort=probability&_count=1');
  assert.deepEqual(pages.flat(), ['r1', 'r3', 'r2', 'r4']);
});

test('_offset still works and links back; a bad cursor is a 400', async () => {
  const res = await fhirFetch(`${server.base}/Patient?_tag=urn:test|sorted&_sort=_id&_count=2&_offset=2`);
  assert.deepEqual(matchIds(res.body), ['s3', 's4']);
  const previous = await fhirFetch(link(res.body, 'previous')!);
  assert.deepEqual(matchIds(previous.body), ['s1', 's2']);
  const next = await fhirFetch(link(res.body, 'next')!);
  assert.deepEqual(matchIds(next.body), ['s5', 's6']);
  assert.ok(link(next.body, 'first'));
  for (const bad of [
    'nonsense',
    Buffer.from('[1,2,3]').toString('base64url'),
    Buffer.from('{"k":[],"r":1}').toString('base64url'), // one sort key was expected
    Buffer.from('{"k":["x"],"r":"1"}').toString('base64url'),
  ]) {
    const refused = await fhirFetch(`${server.base}/Patient?_sort=_id&_cursor=${bad}`);
    assert.equal(refused.status, 400, bad);
    assert.match(refused.body.issue[0].diagnostics, /_cursor/);
  }
  const injected = Buffer.from(JSON.stringify({ k: ["~' OR 1=1 --"], r: 1 })).toString('base64url');
  const safe = await fhirFetch(`${server.base}/Patient?_tag=urn:test|sorted&_sort=_id&_cursor=${injected}`);
  assert.equal(safe.status, 200);
  assert.deepEqual(matchIds(safe.body), [], 'the cursor value is data: nothing sorts after it');
});

test('with _total=accurate every page reports the total of the data as it is now, also after writes', async () => {
  for (let i = 1; i <= 5; i++) await put(patient(`t${i}`, 'totals'));
  const totals: number[] = [];
  await walk('Patient?_tag=urn:test|totals&_count=2&_total=accurate', async (page) => {
    const res = await fhirFetch(`${server.base}/Patient?_tag=urn:test|totals&_count=2&_total=accurate`);
    totals.push(res.body.total);
    if (page === 1) await put(patient('t6', 'totals'));
    if (page === 2) await remove('Patient', 't1');
  });
  assert.deepEqual(totals, [5, 6, 5]);
  // A repeated page, with no write in between, gives the same total.
  const again = await fhirFetch(`${server.base}/Patient?_tag=urn:test|totals&_count=2`);
  assert.equal(again.body.total, 5);
});

test('later pages give the total while it is known for the data as it is, and count only when asked', async () => {
  for (let i = 1; i <= 5; i++) await put(patient(`k${i}`, 'known'));
  const query = `${server.base}/Patient?_tag=urn:test|known&_count=2`;
  const first = await fhirFetch(query);
  assert.equal(first.body.total, 5, 'the first page counts');
  const second = await fhirFetch(link(first.body, 'next')!);
  assert.equal(second.body.total, 5, 'nothing was written since: the total is known');
  await put(patient('k6', 'known'));
  const third = await fhirFetch(link(second.body, 'next')!);
  assert.deepEqual(matchIds(third.body), ['k5', 'k6']);
  assert.equal(third.body.total, undefined, 'after a write it is not known, and not counted');
  const asked = await fhirFetch(`${link(second.body, 'next')!}&_total=accurate`);
  assert.equal(asked.body.total, 6);
  const byOffset = await fhirFetch(`${query}&_offset=4`);
  assert.equal(byOffset.body.total, 6, 'counted just now for the same search');
});
