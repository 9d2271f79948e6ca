/**
 * The downtime passphrase: what staff type to open a downtime file. The policy asks for length rather
 * than composition (as NIST SP 800-63B does for memorized secrets): at least 20 characters, or at least
 * four words, so that an offline guessing attack on a stolen file stays out of reach.
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';

export const PASSPHRASE_RULE =
  'A downtime passphrase needs at least 20 characters (not one character repeated), or at least four words of three or more letters separated by spaces or hyphens (for example "maple-river-lantern-orbit").';

export class PassphraseError extends Error {}

const MIN_CHARACTERS = 20;
const MIN_DISTINCT_CHARACTERS = 5;
const MIN_WORDS = 4;
const MIN_WORD_LETTERS = 3;
/** Bounds the key derivation input; longer is almost surely the wrong file. */
const MAX_CHARACTERS = 1024;

/** Returns why a passphrase falls short of the policy, or undefined when it meets it. */
export function passphraseProblem(passphrase: string): string | undefined {
  const text = normalizePassphrase(passphrase);
  if (text.length > MAX_CHARACTERS) return `The passphrase is longer than ${MAX_CHARACTERS} characters.`;
  const characters = [...text];
  if (characters.length >= MIN_CHARACTERS && new Set(characters).size >= MIN_DISTINCT_CHARACTERS)
    return undefined;
  const words = text
    .split(/[\s\-_.,;:/]+/u)
    .filter((word) => (word.match(/\p{L}/gu) ?? []).length >= MIN_WORD_LETTERS);
  if (words.length >= MIN_WORDS) return undefined;
  return `The passphrase is too weak. ${PASSPHRASE_RULE}`;
}

/**
 * What the key is derived from: NFC (so an accented letter typed either way is the same) without
 * surrounding spaces (which nobody can see). The viewer does exactly the same to what staff type.
 */
export function normalizePassphrase(passphrase: string): string {
  return passphrase.normalize('NFC').trim();
}

/** Throws a PassphraseError stating the rule when the passphrase is too weak. */
export function checkPassphrase(passphrase: string): string {
  const problem = passphraseProblem(passphrase);
  if (problem) throw new PassphraseError(problem);
  return normalizePassphrase(passphrase);
}

/**
 * Reads a passphrase file: its text without the final line break. The file should be readable by its
 * owner only, like any other secret.
 */
export function readPassphraseFile(file: string): string {
  const path = resolve(file);
  let text: string;
  try {
    if (statSync(path).size > 64 * 1024)
      throw new PassphraseError(`${path} is too large to be a passphrase file.`);
    // Fatal decoding: a file in another encoding would otherwise give a key nobody can type.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(readFileSync(path));
  } catch (error) {
    if (error instanceof PassphraseError) throw error;
    if (error instanceof TypeError)
      throw new PassphraseError(`${path} is not UTF-8 text; save the passphrase file as UTF-8.`);
    throw new PassphraseError(
      `Cannot read the passphrase file ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'}); write the passphrase on one line in a file only you can read.`,
    );
  }
  const passphrase = text.replace(/\r?\n$/, '');
  if (/[\r\n]/.test(passphrase))
    throw new PassphraseError(`${path} holds more than one line; put only the passphrase in it.`);
  try {
    return checkPassphrase(passphrase);
  } catch (error) {
    throw new PassphraseError(`${path}: ${(error as Error).message}`);
  }
}
