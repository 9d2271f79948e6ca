/**
 * A search sorted by one key finds its page either by walking the sort index or by sorting every
 * match. Both must give the same order and the same pages (ties, missing values, several values per
 * resource, cursors and offsets that cross from resources with a value to those without).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parseSearch } from '../../fhir/searchQuery.ts';
import type { PageCursor } from '../../fhir/searchRequest.ts';
import type { Resource } from '../../fhir/types.ts';
import { createTempStore, type TempStore } from '../../../test/testStore.ts';
import { databasePath, readSettings } from '../dataDirectory.ts';
import { loadDataKey } from '../keyStore.ts';
import { openConnection, type Connection } from './connection.ts';
import { ResourceTables } from './resourceTables.ts';

let temp: TempStore;
let connection: Connection;
let walk: ResourceTables;
let sort: ResourceTables;

const FAMILIES = ['Moss', 'Abel', 'Zorn', 'Moss', 'Lind', 'Abel'];

before(async () => {
  temp = createTempStore();
  for (let i = 0; i < 40; i++) {
    const names = i % 7 === 3 ? [] : [{ family: FAMILIES[i % FAMILIES.length] }];
    // Some have a second name, so that a resource's lowest and highest values differ.
    if (i % 5 === 0) names.push({ family: FAMILIES[(i + 2) % FAMILIES.length]! });
    await temp.store.update({
      resourceType: 'Patient',
      id: `p${i}`,
      meta: { tag: [{ system: 'urn:test', code: i % 3 === 0 ? 'a' : 'b' }] },
      name: names,
      // Ties on the date, and every fourth without one.
      ...(i % 4 === 1 ? {} : { birthDate: `19${50 + (i % 9)}-01-0${1 + (i % 3)}` }),
    } as Resource);
  }
  const { key } = loadDataKey(temp.keyDir, readSettings(temp.dataDir).storeId);
  connection = openConnection(databasePath(temp.dataDir), key, { create: false });
  walk = new ResourceTables(connection, 'walk');
  sort = new ResourceTables(connection, 'sort');
});

after(async () => {
  connection.close();
  await temp.cleanup();
});

const ids = (resources: Resource[]) => resources.map((r) => r.id!);

function pagesByCursor(tables: ResourceTables, query: [string, string][]): string[][] {
  const pages: string[][] = [];
  let cursor: PageCursor | undefined;
  do {
    const { request } = parseSearch(['Patient'], query);
    if (cursor) request.after = cursor;
    const result = tables.search(request);
    pages.push(ids(result.resources));
    cursor = result.next;
    assert.ok(pages.length <= 50, 'paging ends');
  } while (cursor);
  return pages;
}

const SORTS = ['birthdate', '-birthdate', 'family', '-family'];
const FILTERS: [string, string][][] = [[], [['_tag', 'urn:test|a']], [['_tag', 'urn:test|b']]];

test('walking the sort index gives the order of sorting every match, missing values last', () => {
  for (const sortKey of SORTS) {
    for (const filter of FILTERS) {
      const query: [string, string][] = [...filter, ['_sort', sortKey], ['_count', '100']];
      const sorted = ids(sort.search(parseSearch(['Patient'], query).request).resources);
      const walked = ids(walk.search(parseSearch(['Patient'], query).request).resources);
      assert.ok(sorted.length > 5);
      assert.deepEqual(walked, sorted, `_sort=${sortKey} ${JSON.stringify(filter)}`);
    }
  }
  const byDate = ids(walk.search(parseSearch(['Patient'], [['_sort', 'birthdate']]).request).resources);
  const undated = byDate.filter((id) => Number(id.slice(1)) % 4 === 1);
  assert.deepEqual(byDate.slice(-undated.length), undated, 'patients without a birth date come last');
});

test('both plans page alike, by cursor and by offset, across the end of the values', () => {
  for (const sortKey of SORTS) {
    for (const filter of FILTERS) {
      for (const count of ['1', '3', '7']) {
        const query: [string, string][] = [...filter, ['_sort', sortKey], ['_count', count]];
        const label = `_sort=${sortKey} _count=${count} ${JSON.stringify(filter)}`;
        const walked = pagesByCursor(walk, query);
        assert.deepEqual(walked, pagesByCursor(sort, query), label);
        const all = walked.flat();
        assert.equal(new Set(all).size, all.length, `${label}: no repeats`);
        for (let offset = 0; offset <= all.length; offset += 2) {
          const withOffset: [string, string][] = [...query, ['_offset', String(offset)]];
          const page = ids(walk.search(parseSearch(['Patient'], withOffset).request).resources);
          assert.deepEqual(page, all.slice(offset, offset + Number(count)), `${label} _offset=${offset}`);
        }
      }
    }
  }
});
