/**
 * Finds which child elements of its context a FHIRPath invariant reads. Most invariants only look
 * at a few children (`name.exists() or telecom.exists()`), so when none of those is present the
 * result is the same for every instance and can be computed once instead of per element, which
 * keeps fhirpath off the hot path.
 */

/** Functions whose arguments are evaluated once per item of their input, never on an empty input. */
const PER_ITEM_FUNCTIONS = new Set(['where', 'select', 'all', 'exists', 'repeat', 'aggregate', 'trace']);
/** Functions whose argument is a type name rather than an expression. */
const TYPE_FUNCTIONS = new Set(['is', 'as', 'ofType']);
const KEYWORDS = new Set(['and', 'or', 'xor', 'implies', 'in', 'contains', 'div', 'mod', 'true', 'false']);
/** Environment variables that do not depend on the instance. */
const CONSTANT_VARIABLES = new Set(['ucum']);

type Token = { kind: 'name' | 'variable' | 'special' | 'literal' | 'symbol'; text: string };

function tokenize(expression: string): Token[] | undefined {
  const tokens: Token[] = [];
  let i = 0;
  const readWhile = (test: (c: string) => boolean) => {
    const start = i;
    while (i < expression.length && test(expression[i])) i++;
    return expression.slice(start, i);
  };
  const isNameChar = (c: string) => /[A-Za-z0-9_]/.test(c);
  const readQuoted = (quote: string) => {
    const start = ++i;
    while (i < expression.length && expression[i] !== quote) i += expression[i] === '\\' ? 2 : 1;
    if (i >= expression.length) return undefined;
    return expression.slice(start, i++);
  };
  while (i < expression.length) {
    const c = expression[i];
    if (/\s/.test(c)) i++;
    else if (c === "'") {
      if (readQuoted("'") === undefined) return undefined;
      tokens.push({ kind: 'literal', text: "'" });
    } else if (c === '`') {
      const name = readQuoted('`');
      if (name === undefined) return undefined;
      tokens.push({ kind: 'name', text: name });
    } else if (/[A-Za-z_]/.test(c)) tokens.push({ kind: 'name', text: readWhile(isNameChar) });
    else if (/[0-9]/.test(c)) tokens.push({ kind: 'literal', text: readWhile((d) => /[0-9.]/.test(d)) });
    else if (c === '@') tokens.push({ kind: 'literal', text: readWhile((d) => /[@0-9T:.+\-Z]/.test(d)) });
    else if (c === '%') {
      i++;
      const name =
        expression[i] === '`' || expression[i] === "'" ? readQuoted(expression[i]) : readWhile(isNameChar);
      if (name === undefined) return undefined;
      tokens.push({ kind: 'variable', text: name });
    } else if (c === '$') {
      i++;
      tokens.push({ kind: 'special', text: readWhile(isNameChar) });
    } else if (c === '/' && (expression[i + 1] === '/' || expression[i + 1] === '*')) {
      return undefined; // comments: too rare in the specification to be worth handling
    } else {
      tokens.push({ kind: 'symbol', text: c });
      i++;
    }
  }
  return tokens;
}

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
    if (afterDot || !inContext) continue;
    if (isCall) return undefined;
    if (KEYWORDS.has(token.text)) continue;
    if (/^[A-Z]/.test(token.text)) return undefined;
    names.add(token.text);
  }
  return [...names];
}
