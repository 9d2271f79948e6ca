/** Parsing request bodies as JSON, refusing nesting deep enough to endanger recursive code downstream. */
import { badRequest } from '../fhir/outcome.ts';

/** Far deeper than any real resource (Questionnaire items rarely pass 20 levels). */
export const MAX_JSON_DEPTH = 100;

export function parseJsonBody(text: string): unknown {
  if (text.trim() === '')
    throw badRequest('The request body is empty; send a FHIR resource as JSON.', 'structure');
  checkDepth(text);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw badRequest(
      `The request body is not valid JSON: ${(error as Error).message.slice(0, 200)}`,
      'structure',
    );
  }
}

/** Counts bracket depth outside strings, without parsing, so that the check itself cannot overflow. */
function checkDepth(text: string): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > MAX_JSON_DEPTH)
        throw badRequest(`The request body nests deeper than ${MAX_JSON_DEPTH} levels.`, 'structure');
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
}
