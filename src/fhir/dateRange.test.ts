import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dateRange } from './dateRange.ts';

// Values without a zone are read in local time: pin it to a zone with daylight saving time.
process.env.TZ = 'America/New_York';

const at = (iso: string) => Date.parse(iso);

test('a year covers the whole local year', () => {
  assert.deepEqual(dateRange('2021'), {
    start: at('2021-01-01T05:00:00Z'),
    end: at('2022-01-01T05:00:00Z') - 1,
  });
});

test('a month covers the whole local month, February of a leap year included', () => {
  assert.deepEqual(dateRange('2021-03'), {
    start: at('2021-03-01T05:00:00Z'),
    end: at('2021-04-01T04:00:00Z') - 1,
  });
  assert.deepEqual(dateRange('2024-02'), {
    start: at('2024-02-01T05:00:00Z'),
    end: at('2024-03-01T05:00:00Z') - 1,
  });
  assert.deepEqual(dateRange('2021-12'), {
    start: at('2021-12-01T05:00:00Z'),
    end: at('2022-01-01T05:00:00Z') - 1,
  });
});

test('a day covers the local day, 23 hours long when daylight saving time starts', () => {
  assert.deepEqual(dateRange('2021-03-04'), {
    start: at('2021-03-04T05:00:00Z'),
    end: at('2021-03-05T05:00:00Z') - 1,
  });
  const dstStart = dateRange('2021-03-14');
  assert.ok(dstStart);
  assert.equal(dstStart.end - dstStart.start + 1, 23 * 3600_000);
  assert.deepEqual(dateRange('2021-12-31'), {
    start: at('2021-12-31T05:00:00Z'),
    end: at('2022-01-01T05:00:00Z') - 1,
  });
});

test('a dateTime with seconds covers that second, in its own zone', () => {
  assert.deepEqual(dateRange('2021-03-04T10:11:12Z'), {
    start: at('2021-03-04T10:11:12Z'),
    end: at('2021-03-04T10:11:13Z') - 1,
  });
  assert.deepEqual(dateRange('2021-03-04T10:11:12+02:00'), {
    start: at('2021-03-04T08:11:12Z'),
    end: at('2021-03-04T08:11:13Z') - 1,
  });
  assert.deepEqual(dateRange('2021-03-04T10:11:12-05:30'), {
    start: at('2021-03-04T15:41:12Z'),
    end: at('2021-03-04T15:41:13Z') - 1,
  });
});

test('fractional seconds are exact to the millisecond, extra digits dropped', () => {
  const ms = at('2021-03-04T10:11:12.345Z');
  assert.deepEqual(dateRange('2021-03-04T10:11:12.345Z'), { start: ms, end: ms });
  assert.deepEqual(dateRange('2021-03-04T10:11:12.3456789Z'), { start: ms, end: ms });
  assert.deepEqual(dateRange('2021-03-04T10:11:12.3Z'), { start: ms - 45, end: ms - 45 });
});

test('a dateTime without a zone is local; minutes without seconds (a search value) cover the minute', () => {
  assert.deepEqual(dateRange('2021-07-04T10:11:12'), {
    start: at('2021-07-04T14:11:12Z'),
    end: at('2021-07-04T14:11:13Z') - 1,
  });
  assert.deepEqual(dateRange('2021-07-04T10:11'), {
    start: at('2021-07-04T14:11:00Z'),
    end: at('2021-07-04T14:12:00Z') - 1,
  });
  assert.deepEqual(dateRange('2021-07-04T10:11Z'), {
    start: at('2021-07-04T10:11:00Z'),
    end: at('2021-07-04T10:12:00Z') - 1,
  });
});

test('years before 100 are not read as 19xx', () => {
  assert.equal(new Date(dateRange('0050-06-01T00:00:00Z')!.start).getUTCFullYear(), 50);
  assert.equal(new Date(dateRange('0099')!.end).getFullYear(), 99);
});

test('text that is no FHIR date gives undefined', () => {
  for (const text of [
    '',
    'abc',
    '21',
    '2021-3-4',
    '2021-13',
    '2021-00',
    '2021-02-29',
    '2021-04-31',
    '2021-03-04T25:00:00Z',
    '2021-03-04T10:60:00Z',
    '2021-03-04T10:00:00+15:00',
    '2021-03-04T10',
    '10:00:00',
    '2021-03-04 10:00:00',
  ]) {
    assert.equal(dateRange(text), undefined, text);
  }
  assert.ok(dateRange('2024-02-29'));
});
