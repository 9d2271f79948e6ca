/** The append-only backup receiver (docs/backup-format.md, "Receiver"): its server and its commands' work. */
export { startReceiver, DEFAULT_MAX_OBJECT_BYTES, type RunningReceiver } from './receiverServer.ts';
export { ReceiverHome } from './receiverHome.ts';
export { createPairingCode, PAIRING_MINUTES } from './pairingCodes.ts';
export { receiverStatus, type ReceiverStatus } from './receiverStatus.ts';
export { pruneReceiver, type PruneResult } from './receiverPrune.ts';
export { exportPractice } from './receiverExport.ts';
export { displayFingerprint, normalizeFingerprint } from './fingerprint.ts';
export {
  connectionOf,
  findPairing,
  pairWithReceiver,
  readPairings,
  type ReceiverPairing,
} from './practicePairings.ts';
