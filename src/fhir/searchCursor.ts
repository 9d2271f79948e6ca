/**
 * The opaque `_cursor` of search paging links: a PageCursor (a match's sort values and row id, and
 * whether the page ends before it) as base64url JSON `{"k": [...], "r": rid, "b": 1}`. Infinite
 * numbers (open ranges) are written as {"inf": 1 | -1}, which JSON cannot hold otherwise. A cursor
 * read back is checked for shape, never trusted as SQL.
 */
import { badRequest } from './outcome.ts';
import type { PageCursor, SortValue } from './searchRequest.ts';

export function encodeCursor(cursor: PageCursor): string {
  const keys = cursor.keys.map((k) =>
    typeof k === 'number' && !Number.isFinite(k) ? { inf: k > 0 ? 1 : -1 } : k,
  );
  const encoded = { k: keys, r: cursor.rid, ...(cursor.before ? { b: 1 } : {}) };
  return Buffer.from(JSON.stringify(encoded)).toString('base64url');
}

/** The cursor in `text`, for a search sorted by `sortKeys` keys; a 400 when it is not one. */
export function decodeCursor(text: string, sortKeys: number): PageCursor {
  let parsed: { k?: unknown; r?: unknown; b?: unknown } | undefined;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as typeof parsed;
  } catch {
    parsed = undefined;
  }
  const invalid = () =>
    badRequest(
      `_cursor "${text.slice(0, 100)}" is not a cursor of this search; follow the paging links as given.`,
    );
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalid();
  const { k, r, b } = parsed;
  if (!Array.isArray(k) || k.length !== sortKeys) throw invalid();
  if (typeof r !== 'number' || !Number.isSafeInteger(r)) throw invalid();
  if (b !== undefined && b !== 1) throw invalid();
  const keys = k.map((key: unknown): SortValue => {
    if (key === null || typeof key === 'string' || typeof key === 'number') return key;
    const inf = (key as { inf?: unknown } | null)?.inf;
    if (inf === 1 || inf === -1) return inf * Infinity;
    throw invalid();
  });
  return b === 1 ? { keys, rid: r, before: true } : { keys, rid: r };
}
