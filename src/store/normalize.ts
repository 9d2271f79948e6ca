/** String search matches case- and accent-insensitively: both stored and searched text go through this. */
export function normalizeForSearch(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}
