import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalUnit, toCanonical } from './ucum.ts';

/** `value` of unit `from` in units of `to`, through the canonical form; undefined if they differ in dimension. */
function convert(value: number, from: string, to: string): number | undefined {
  const [a, b] = [canonicalUnit(from), canonicalUnit(to)];
  if (!a || !b || a.unit !== b.unit) return undefined;
  return Number((toCanonical(value, a) / b.factor).toPrecision(9));
}

test('clinical units convert within a dimension', () => {
  assert.equal(convert(5, 'g', 'mg'), 5000);
  assert.equal(convert(100, 'mg/dL', 'g/L'), 1);
  assert.equal(convert(5, '10*3/uL', '10*9/L'), 5);
  assert.equal(convert(5, '{cells}/uL', '/mL'), 5000);
  assert.equal(convert(150, '[lb_av]', 'kg')?.toFixed(3), '68.039');
  assert.equal(convert(120, 'mm[Hg]', 'kPa')?.toFixed(2), '16.00');
  assert.equal(convert(72, '/min', '{beats}/s'), 1.2);
  assert.equal(convert(2, 'h', 'min'), 120);
  assert.equal(convert(90, 'mL/min/{1.73_m2}', 'L/h'), 5.4);
  assert.equal(convert(25, 'kg/m2', 'g/cm2'), 2.5);
  assert.equal(convert(50, '%', '1'), 0.5);
});

test('different dimensions, offset scales and unknown units have no common form', () => {
  assert.equal(convert(5, 'mmol/L', 'mg/dL'), undefined);
  assert.equal(convert(5, 'g', 'mL'), undefined);
  assert.equal(canonicalUnit('Cel'), undefined);
  assert.equal(canonicalUnit('[degF]'), undefined);
  assert.equal(canonicalUnit('nonsense'), undefined);
  assert.equal(canonicalUnit(''), undefined);
  assert.equal(canonicalUnit('m g'), undefined);
});
