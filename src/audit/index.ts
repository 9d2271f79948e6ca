/** The audit trail's public face (docs/audit-chain.md). */
export { commandLineAgent, unauthenticatedAgent } from './agents.ts';
export { AuditTrail, type AuditTrailOptions } from './auditTrail.ts';
export { toAuditEvent, readAuditEvent, searchAuditEvents, auditChangeRefused } from './auditEventView.ts';
export { writeCheckpoint, checkpointFilePath, readCheckpointFile, CHECKPOINT_FILE } from './checkpoints.ts';
export { canonicalJson, linkHash, GENESIS_HASH } from './chainFormat.ts';
export {
  AuditForwarder,
  readForwardingSettings,
  writeForwardingSettings,
  forwardedRecord,
} from './forwarding.ts';
export {
  auditKeyFilePath,
  createAuditSigningKey,
  ensureAuditSigningKey,
  loadAuditSigningKey,
  replaceAuditSigningKey,
  appendEarlierAuditKey,
  rawPublicKey,
  AuditKeyError,
  type AuditSigningKey,
} from './signingKey.ts';
export { verifyAuditChain, type VerifyReport } from './verify.ts';
