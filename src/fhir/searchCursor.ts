/**
 * The opaque `_cursor` of search paging links: a PageCursor (the last match's sort values and row
 * id) as base64url JSON. Infinite numbers (open ranges) are written as {"inf": 1 | -1}, which JSON
 * cannot hold otherwise. A cursor read back is checked for shape, never trusted as SQL.
 */
import { badRequest } from './outcome.ts';
import type { PageCursor, SortValue } from './searchRequest.ts';

export function encodeCursor(cursor: PageCursor): string {
  const keys = cursor.keys.map((k) =>
    typeof k === 'number' && !Number.isFinite(k) ? { inf: k > 0 ? 1 : -1 } : k,
  );
  return Buffer.from(JSON.stringify([...keys, cursor.rid])).toString('base64url');
}

/** The cursor in `text`, for a search sorted by `sortKeys` keys; a 400 when it is not one. */
export function decodeCursor(text: string, sortKeys: number): PageCursor {
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    parts = undefined;
  }
  const invalid = () =>
    badRequest(
      `_cursor "${text.slice(0, 100)}" is not a cursor of this search; follow the next link as given.`,
    );
  if (!Array.isArray(parts) || parts.length !== sortKeys + 1) throw invalid();
  const rid = parts[sortKeys] as unknown;
  if (typeof rid !== 'number' || !Number.isSafeInteger(rid)) throw invalid();
  const keys = parts.slice(0, sortKeys).map((k: unknown): SortValue => {
    if (k === null || typeof k === 'string' || typeof k === 'number') return k;
    const inf = (k as { inf?: unknown } | null)?.inf;
    if (inf === 1 || inf === -1) return inf * Infinity;
    throw invalid();
  });
  return { keys, rid };
}
