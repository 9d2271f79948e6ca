/**
 * The audit trail of a store a command opened from --data and --key-dir: opening it signs a checkpoint
 * over the head, so what the command appends is covered when the trail closes.
 */
import { AuditTrail } from '../audit/index.ts';
import type { ResourceStore, StoreSettings } from '../store/index.ts';

export function openCommandAuditTrail(
  store: ResourceStore,
  settings: StoreSettings,
  options: { data: string; keyDir: string },
): Promise<AuditTrail> {
  return AuditTrail.open({ store, dataDir: options.data, keyDir: options.keyDir, storeId: settings.storeId });
}
