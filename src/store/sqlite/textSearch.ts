/**
 * `_text` (the narrative) and `_content` (the whole resource) are matched when searched, not indexed:
 * a word index of every resource would grow the store by about half for two rarely used parameters.
 * Each word of a value must occur in the text, case- and accent-insensitively (`,` separates
 * alternatives). The SQL function reads the candidate's stored JSON, so other criteria of the search
 * narrow the candidates first; alone on a large type, such a search reads every resource of it.
 */
import { normalizeForSearch } from '../normalize.ts';
import type { Connection } from './connection.ts';

export const TEXT_MATCH_FUNCTION = 'chartvault_text_match';

/** Registers the function `chartvault_text_match(body, scope, alternatives)` on a connection. */
export function registerTextMatch(db: Connection): void {
  db.function(
    TEXT_MATCH_FUNCTION,
    { deterministic: true },
    (body: unknown, scope: unknown, words: unknown) =>
      typeof body === 'string' && typeof words === 'string' && textMatches(body, scope === 'narrative', words)
        ? 1
        : 0,
  );
}

let lastPattern = '';
let lastOptions: string[][] = [];

/** `alternatives` is JSON: a list of word lists, already folded by `foldWords`. */
function textMatches(body: string, narrativeOnly: boolean, alternatives: string): boolean {
  const text = normalizeForSearch(narrativeOnly ? narrativeText(body) : body);
  // One search calls this for every candidate with the same words: parse them once.
  if (alternatives !== lastPattern) [lastPattern, lastOptions] = [alternatives, JSON.parse(alternatives)];
  const options = lastOptions;
  return options.some((words) => words.every((word) => text.includes(word)));
}

/** The words of each alternative, folded for matching. */
export function foldWords(values: string[]): string[][] {
  return values.map((value) =>
    normalizeForSearch(value)
      .split(/\s+/)
      .filter((word) => word.length > 0),
  );
}

function narrativeText(body: string): string {
  const div = (JSON.parse(body) as { text?: { div?: unknown } }).text?.div;
  if (typeof div !== 'string') return '';
  return div
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&amp;/g, '&');
}
