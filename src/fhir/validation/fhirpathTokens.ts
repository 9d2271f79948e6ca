/**
 * A small FHIRPath tokenizer, enough to analyse the shape of the specification's invariants (which
 * children they read, whether they are plain existence logic). Evaluation is fhirpath's job.
 */

export type Token = { kind: 'name' | 'variable' | 'special' | 'literal' | 'symbol'; text: string };

/** The tokens of a FHIRPath expression, or undefined when it has what this reader does not handle. */
export function tokenize(expression: string): Token[] | undefined {
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
