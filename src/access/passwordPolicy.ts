/**
 * Password rules of NIST SP 800-63B revision 4 (section 3.1.1.2): a minimum length that depends on
 * whether the password is the only factor (15) or one of two (8); long passphrases allowed (up to 256
 * characters here, the guideline asks for at least 64); no composition rules (no "one digit, one
 * symbol") and no periodic change; every character allowed, Unicode normalised (NFKC) so that the same
 * passphrase typed on another keyboard matches; refused when it is a common or breached password, or
 * contains the account's own name.
 */
import { isCommonPassword } from './passwordBlocklist.ts';

export const MIN_LENGTH_SINGLE_FACTOR = 15;
export const MIN_LENGTH_WITH_MFA = 8;
export const MAX_LENGTH = 256;
/** Context words shorter than this are not checked (a 2-letter initial would refuse too much). */
const MIN_CONTEXT_WORD = 4;

export interface PasswordContext {
  /** True when a second factor is required at sign-in: the shorter minimum applies. */
  mfa: boolean;
  /** Words the password must not contain: the user name, the display name's parts. */
  contextWords?: string[];
}

export type PasswordCheck = { ok: true; normalized: string } | { ok: false; problems: string[] };

/** NFKC, the normalisation 800-63B asks for before hashing; also what `checkPassword` measures. */
export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

/** Length counts characters (code points), not bytes or UTF-16 units. */
export function passwordLength(password: string): number {
  return [...password].length;
}

export function checkPassword(password: string, context: PasswordContext): PasswordCheck {
  const normalized = normalizePassword(password);
  const length = passwordLength(normalized);
  const minimum = context.mfa ? MIN_LENGTH_WITH_MFA : MIN_LENGTH_SINGLE_FACTOR;
  const problems: string[] = [];
  if (length < minimum) {
    problems.push(
      context.mfa
        ? `The password has ${length} characters; it needs at least ${minimum} (with a second factor at sign-in). A few unrelated words make a good one.`
        : `The password has ${length} characters; it needs at least ${minimum} when it is the only factor. A few unrelated words make a good one.`,
    );
  }
  if (length > MAX_LENGTH) {
    problems.push(`The password has ${length} characters; at most ${MAX_LENGTH} are accepted.`);
  }
  if (length >= minimum && length <= MAX_LENGTH && isCommonPassword(normalized)) {
    problems.push(
      'This password is on the list of common and breached passwords that attackers try first; choose another.',
    );
  }
  const lower = normalized.toLowerCase();
  const contextWord = (context.contextWords ?? [])
    .map((word) => normalizePassword(word).toLowerCase().trim())
    .find((word) => passwordLength(word) >= MIN_CONTEXT_WORD && lower.includes(word));
  if (contextWord !== undefined) {
    problems.push('The password contains your user name or name; choose one that does not.');
  }
  return problems.length === 0 ? { ok: true, normalized } : { ok: false, problems };
}
