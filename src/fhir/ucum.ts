/**
 * UCUM units reduced to a canonical form, so that quantity search compares quantities of the same
 * dimension whatever unit they were written in (`5 g` is `5000 mg`), as R4 search asks of servers
 * "where practical". This covers the units of everyday clinical data: the metric base units with
 * every prefix (g, m, s, L, mol, eq, U, [iU], Pa, m[Hg]), non-metric time (min, h, d, wk, mo, a),
 * common US customary units, `%`, powers of ten (`10*3`), annotations (`{cells}`), exponents (`m2`,
 * `s-1`) and products and quotients (`mg/dL`, `kg/m2`, `/min`). A unit outside it (temperatures, whose
 * scales are offset; rarely used units) has no canonical form and is compared by its code as written.
 */

export const UCUM_SYSTEM = 'http://unitsofmeasure.org';

/** A quantity in canonical units: `value` times the base units of `unit` (e.g. `g.m-3`). */
export interface CanonicalUnit {
  /** Multiply a value in the original unit by this to get the canonical value. */
  factor: number;
  /** The dimensions, as a stable text: base units with exponents, `.`-joined; `1` if none. */
  unit: string;
}

type Dimensions = Record<string, number>;

/** Atoms: factor to the base units and the dimensions; `metric` atoms take prefixes. */
const ATOMS: Record<string, { factor: number; dims: Dimensions; metric?: boolean }> = {
  g: { factor: 1, dims: { g: 1 }, metric: true },
  m: { factor: 1, dims: { m: 1 }, metric: true },
  s: { factor: 1, dims: { s: 1 }, metric: true },
  L: { factor: 1e-3, dims: { m: 3 }, metric: true },
  l: { factor: 1e-3, dims: { m: 3 }, metric: true },
  mol: { factor: 1, dims: { mol: 1 }, metric: true },
  eq: { factor: 1, dims: { eq: 1 }, metric: true },
  U: { factor: 1, dims: { U: 1 }, metric: true },
  '[iU]': { factor: 1, dims: { '[iU]': 1 }, metric: true },
  '[IU]': { factor: 1, dims: { '[iU]': 1 }, metric: true },
  Pa: { factor: 1000, dims: { g: 1, m: -1, s: -2 }, metric: true },
  'm[Hg]': { factor: 133_322_000, dims: { g: 1, m: -1, s: -2 }, metric: true },
  min: { factor: 60, dims: { s: 1 } },
  h: { factor: 3600, dims: { s: 1 } },
  d: { factor: 86_400, dims: { s: 1 } },
  wk: { factor: 604_800, dims: { s: 1 } },
  mo: { factor: 2_629_800, dims: { s: 1 } },
  a: { factor: 31_557_600, dims: { s: 1 } },
  '[lb_av]': { factor: 453.592_37, dims: { g: 1 } },
  '[oz_av]': { factor: 28.349_523_125, dims: { g: 1 } },
  '[in_i]': { factor: 0.0254, dims: { m: 1 } },
  '[ft_i]': { factor: 0.3048, dims: { m: 1 } },
  '[mi_i]': { factor: 1609.344, dims: { m: 1 } },
  '%': { factor: 0.01, dims: {} },
};

const PREFIXES: Record<string, number> = {
  Y: 1e24,
  Z: 1e21,
  E: 1e18,
  P: 1e15,
  T: 1e12,
  G: 1e9,
  M: 1e6,
  k: 1e3,
  h: 1e2,
  da: 1e1,
  d: 1e-1,
  c: 1e-2,
  m: 1e-3,
  u: 1e-6,
  n: 1e-9,
  p: 1e-12,
  f: 1e-15,
  a: 1e-18,
};

const cache = new Map<string, CanonicalUnit | undefined>();

/** The canonical form of a UCUM unit code, or undefined when it is not one this module knows. */
export function canonicalUnit(code: string): CanonicalUnit | undefined {
  if (cache.has(code)) return cache.get(code);
  const result = parse(code);
  if (cache.size < 10_000) cache.set(code, result);
  return result;
}

function parse(code: string): CanonicalUnit | undefined {
  if (code === '' || code.length > 100 || /\s/.test(code)) return undefined;
  const dims: Dimensions = {};
  let factor = 1;
  // Annotations (`{cells}`, `{1.73_m2}`) mean nothing to the value: a term of only one is 1.
  const bare = code.replace(/\{[^{}]*\}/g, '');
  // Terms joined by `.` (times) and `/` (divided by); a leading `/` divides 1.
  for (const part of bare.split(/(?=[./])/)) {
    let term = part;
    let sign = 1;
    if (term.startsWith('/')) [term, sign] = [term.slice(1), -1];
    else if (term.startsWith('.')) term = term.slice(1);
    if (term === '') continue;
    const parsed = parseTerm(term);
    if (!parsed) return undefined;
    factor = sign > 0 ? factor * parsed.factor : factor / parsed.factor;
    for (const [dim, exponent] of Object.entries(parsed.dims)) dims[dim] = (dims[dim] ?? 0) + sign * exponent;
  }
  const unit = Object.keys(dims)
    .filter((d) => dims[d] !== 0)
    .sort()
    .map((d) => (dims[d] === 1 ? d : `${d}${dims[d]}`))
    .join('.');
  return Number.isFinite(factor) && factor > 0 ? { factor, unit: unit || '1' } : undefined;
}

/**
 * `value` in canonical units, to 12 significant digits: conversions through different units
 * (`10*3/uL`, `10*9/L`) then agree exactly instead of within a rounding error.
 */
export function toCanonical(value: number, unit: CanonicalUnit): number {
  const converted = value * unit.factor;
  return Number.isFinite(converted) ? Number(converted.toPrecision(12)) : converted;
}

/** One term: a number, a power of ten, or a (prefixed) atom with an optional exponent. */
function parseTerm(term: string): { factor: number; dims: Dimensions } | undefined {
  if (/^\d+$/.test(term)) return { factor: Number(term), dims: {} };
  const power = /^10\*([-+]?\d+)$/.exec(term) ?? /^10\^([-+]?\d+)$/.exec(term);
  if (power) return { factor: 10 ** Number(power[1]), dims: {} };
  const [, name, exponentText] = /^(.*?)([-+]?\d+)?$/.exec(term)!;
  const exponent = exponentText === undefined ? 1 : Number(exponentText);
  const atom = findAtom(name!);
  if (!atom || exponent === 0) return undefined;
  const dims: Dimensions = {};
  for (const [dim, e] of Object.entries(atom.dims)) dims[dim] = e * exponent;
  return { factor: atom.factor ** exponent, dims };
}

function findAtom(name: string): { factor: number; dims: Dimensions } | undefined {
  const whole = ATOMS[name];
  if (whole) return whole;
  for (const [prefix, scale] of Object.entries(PREFIXES)) {
    if (!name.startsWith(prefix)) continue;
    const atom = ATOMS[name.slice(prefix.length)];
    if (atom?.metric) return { factor: scale * atom.factor, dims: atom.dims };
  }
  return undefined;
}
