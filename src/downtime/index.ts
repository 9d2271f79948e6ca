/** Downtime access: the offline, encrypted copy of the coming clinic days and their patients' charts. */
export {
  exportDowntime,
  DowntimeExportError,
  type ExportReport,
  type ExportRequest,
} from './downtimeExport.ts';
export {
  checkPassphrase,
  readPassphraseFile,
  passphraseProblem,
  PassphraseError,
  PASSPHRASE_RULE,
} from './passphrase.ts';
export {
  deriveDowntimeKey,
  keyId,
  open as openEnvelope,
  unwrapKey,
  wrapKey,
  type DowntimeKey,
  type Envelope,
} from './downtimeCrypto.ts';
export {
  DEFAULT_SETTINGS,
  readDowntimeSettings,
  writeDowntimeSettings,
  downtimeSettingsPath,
  type DowntimeSettings,
} from './downtimeSettings.ts';
export { listCopies, COPIES_KEPT } from './distribution.ts';
export { nextExportTime, scheduleExports } from './downtimeSchedule.ts';
export type { DowntimeContent, PatientChart } from './contentModel.ts';
export { startScheduledExports } from './scheduledExports.ts';
