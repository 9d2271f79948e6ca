/**
 * Finds which child elements of its context a FHIRPath invariant reads. Most invariants only look
 * at a few children (`name.exists() or telecom.exists()`), so when none of those is present the
 * result is the same for every instance and can be computed once instead of per element, which
 * keeps fhirpath off the hot path.
 */
import { tokenize, type Token } from './fhirpathTokens.ts';

/** Functions whose arguments are evaluated once per item of their input, never on an empty input. */
const PER_ITEM_FUNCTIONS = new Set(['where', 'select', 'all', 'exists', 'repeat', 'aggregate', 'trace']);
/** Functions whose argument is a type name rather than an expression. */
const TYPE_FUNCTIONS = new Set(['is', 'as', 'ofType']);
const KEYWORDS = new Set(['and', 'or', 'xor', 'implies', 'in', 'contains', 'div', 'mod', 'true', 'false']);
/** Environment variables that do not depend on the instance. */
const CONSTANT_VARIABLES = new Set(['ucum']);

/**
 * The names of the context's children that the expression starts its paths from, or undefined when
 * its result may depend on more than those children: a function applied to the context itself
 * (`where(...)`, `hasValue()`), `$this`, `%resource`, or a type name (`Appointment.status`).
 */
export function leadingNames(expression: string): string[] | undefined {
  const tokens = tokenize(expression);
  if (!tokens) return undefined;
  const names = new Set<string>();
  // Open parentheses: 'group', a call whose arguments see the context ('call'), a per-item call
  // whose arguments see the items only ('item'), or a type argument ('type').
  const frames: string[] = [];
  let itemDepth = 0;
  let typeDepth = 0;
  let expectTypeName = false;
  for (let t = 0; t < tokens.length; t++) {
    const token = tokens[t];
    const previous = tokens[t - 1];
    const next = tokens[t + 1];
    const afterDot = previous?.kind === 'symbol' && previous.text === '.';
    const inContext = itemDepth === 0 && typeDepth === 0;
    if (token.kind === 'symbol') {
      if (token.text === '(') {
        const call = previous?.kind === 'name' ? previous.text : undefined;
        const frame =
          call === undefined
            ? 'group'
            : TYPE_FUNCTIONS.has(call)
              ? 'type'
              : PER_ITEM_FUNCTIONS.has(call)
                ? 'item'
                : 'call';
        frames.push(frame);
        if (frame === 'item') itemDepth++;
        if (frame === 'type') typeDepth++;
      } else if (token.text === ')') {
        const frame = frames.pop();
        if (frame === 'item') itemDepth--;
        if (frame === 'type') typeDepth--;
      }
      continue;
    }
    if (token.kind === 'variable') {
      if (inContext && !CONSTANT_VARIABLES.has(token.text)) return undefined;
      continue;
    }
    if (token.kind === 'special') {
      if (inContext) return undefined;
      continue;
    }
    if (token.kind !== 'name') continue;
    const isCall = next?.kind === 'symbol' && next.text === '(';
    if (expectTypeName) {
      expectTypeName = false;
      continue;
    }
    if (!afterDot && !isCall && (token.text === 'is' || token.text === 'as')) {
      expectTypeName = true;
      continue;
    }
    if (afterDot || !inContext || KEYWORDS.has(token.text)) continue;
    if (isCall) return undefined;
    if (/^[A-Z]/.test(token.text)) return undefined;
    names.add(token.text);
  }
  return [...names];
}

const isEmptyTest = (t: Token[], name: string) =>
  t.length === 5 &&
  t[0].kind === 'name' &&
  t[1].text === '.' &&
  t[2].text === name &&
  t[3].text === '(' &&
  t[4].text === ')';

/**
 * Children whose absence alone makes the expression true: `x` in `x.empty() or ...` and in
 * `x.exists() implies ...`, the most common shapes of an invariant. Lets an element skip
 * fhirpath when it lacks the child that the invariant is about.
 */
export function absenceGuards(expression: string): string[] {
  const tokens = tokenize(expression);
  if (!tokens) return [];
  // Split at the top-level operators of the lowest precedences: implies, then or/xor.
  const terms: Token[][] = [[]];
  const operators: string[] = [];
  let depth = 0;
  for (const token of tokens) {
    if (token.kind === 'symbol' && token.text === '(') depth++;
    if (token.kind === 'symbol' && token.text === ')') depth--;
    const isOperator = depth === 0 && token.kind === 'name' && ['implies', 'or', 'xor'].includes(token.text);
    if (isOperator && terms[terms.length - 1].length > 0) {
      operators.push(token.text);
      terms.push([]);
    } else terms[terms.length - 1].push(token);
  }
  if (operators.length === 1 && operators[0] === 'implies') {
    return isEmptyTest(terms[0], 'exists') ? [terms[0][0].text] : [];
  }
  if (operators.some((o) => o !== 'or')) return [];
  return terms.filter((t) => isEmptyTest(t, 'empty')).map((t) => t[0].text);
}
