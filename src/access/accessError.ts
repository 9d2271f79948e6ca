/** A refusal or mistake a person can fix, with a message that says how (no stack trace, no secrets). */
export class AccessError extends Error {
  override readonly name = 'AccessError';
}
