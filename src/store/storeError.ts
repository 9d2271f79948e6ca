/** A store failure that the operator can fix (missing key, wrong key, not a data directory). */
export class StoreError extends Error {
  override name = 'StoreError';
}
