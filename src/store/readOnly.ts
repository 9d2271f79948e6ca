/**
 * A store that answers reads and refuses every change: the emergency copy served from a backup while
 * the full restore runs (`serve --read-only`). Its reads are still audited (`appendAudit` works), and
 * security records (tokens, sign-in throttling) still work; only resource writes are refused.
 */
import { FhirError } from '../fhir/outcome.ts';
import type { SqliteStore } from './sqlite/sqliteStore.ts';
import type { StoreOperations } from './types.ts';

const WRITES = new Set(['create', 'update', 'delete', 'writeBatch']);

export function readOnlyStore(store: SqliteStore, reason: string): SqliteStore {
  const refuse = async () => {
    throw new FhirError(403, reason, 'forbidden');
  };
  const readOnly = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(object, property, receiver) {
        if (typeof property === 'string' && WRITES.has(property)) return refuse;
        const value = Reflect.get(object, property, receiver) as unknown;
        if (property === 'transaction' && typeof value === 'function')
          return <R>(work: (tx: StoreOperations) => Promise<R>) =>
            (value as SqliteStore['transaction']).call(object, (tx) => work(readOnly(tx)));
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(object) : value;
      },
    });
  return readOnly(store);
}
