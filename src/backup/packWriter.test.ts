/**
 * Version packs: what a restore parses line by line and what verify scans (each line's vid only) agree
 * on every pack the writer makes, and the scan refuses packs whose lines do not match their header.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PackBuilder, parsePack, scanPack } from './packWriter.ts';

const version = (vid: number, body: string | null = `{"resourceType":"Patient","id":"p${vid}"}`) => ({
  vid,
  type: 'Patient',
  id: `p${vid}`,
  version: 1,
  lastUpdated: 1_700_000_000_000 + vid,
  method: body === null ? ('delete' as const) : ('update' as const),
  body,
});

test('verify scans what restore parses, and refuses lines that do not match the header', () => {
  const builder = new PackBuilder();
  for (const vid of [3, 4, 9, 10, 11, 1000]) builder.add(version(vid, vid === 9 ? null : undefined));
  const { payload, header } = builder.take();
  assert.deepEqual(scanPack(payload, 'p'), header);
  assert.deepEqual(parsePack(payload, 'p').header, header);
  assert.deepEqual(
    parsePack(payload, 'p').versions.map((v) => v.vid),
    [3, 4, 9, 10, 11, 1000],
  );

  const lines = payload.toString().trimEnd().split('\n');
  const remade = (l: string[]) => Buffer.from(l.join('\n') + '\n');
  // Two lines swapped: out of order.
  assert.throws(
    () => scanPack(remade([lines[0]!, lines[2]!, lines[1]!, ...lines.slice(3)]), 'p'),
    /out of order/,
  );
  // A line missing: not the count the header says.
  assert.throws(() => scanPack(remade(lines.slice(0, -1)), 'p'), /other versions than its header says/);
  // A line that is not a version.
  assert.throws(() => scanPack(remade([...lines, '{"x":1}']), 'p'), /not valid/);
  // No final line break: the last line was cut.
  assert.throws(() => scanPack(Buffer.from(lines.join('\n')), 'p'), /not valid/);
  assert.throws(() => scanPack(Buffer.from('not json\n'), 'p'), /not valid/);
});
