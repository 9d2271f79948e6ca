/**
 * Common and breached passwords that are refused whatever their length. The list is the 49,000-odd
 * "passwords-common" dictionary of zxcvbn-ts (@zxcvbn-ts/language-common, the maintained TypeScript
 * continuation of Dropbox's zxcvbn), drawn from leaked password corpora and ranked by frequency.
 * Loaded on first use and compared case-insensitively.
 */
import { dictionary } from '@zxcvbn-ts/language-common';

let blocklist: Set<string> | undefined;

function commonPasswords(): Set<string> {
  blocklist ??= new Set(dictionary['passwords-common'].map((entry) => entry.normalize('NFKC').toLowerCase()));
  return blocklist;
}

/** How many entries the blocklist holds (the docs and tests state it). */
export function blocklistSize(): number {
  return commonPasswords().size;
}

/**
 * True when the password is on the list, or is one entry (or one character) repeated, such as
 * "passwordpassword": repetition adds length without adding anything an attacker has to guess.
 */
export function isCommonPassword(normalizedPassword: string): boolean {
  const lower = normalizedPassword.toLowerCase();
  const list = commonPasswords();
  if (list.has(lower)) return true;
  const unit = smallestRepeatedUnit(lower);
  return unit.length < lower.length && (unit.length === 1 || list.has(unit));
}

/** "abcabcabc" -> "abc"; a string that is no repetition is its own unit. */
function smallestRepeatedUnit(text: string): string {
  const chars = [...text];
  for (let size = 1; size <= chars.length / 2; size++) {
    if (chars.length % size !== 0) continue;
    const unit = chars.slice(0, size).join('');
    if (unit.repeat(chars.length / size) === text) return unit;
  }
  return text;
}
