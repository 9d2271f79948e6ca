/** A backup, verify or restore failure the operator can act on: printed as one line, no stack trace. */
export class BackupError extends Error {}
