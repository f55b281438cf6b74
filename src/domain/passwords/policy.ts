import { readFileSync } from 'node:fs';

/**
 * Password rules after NIST SP 800-63B rev 4 §3.1.1.2: a minimum length (15 where the password
 * may be the only factor, 8 where a second factor is required), at least 64 characters accepted,
 * no composition rules, Unicode normalized, and a blocklist of common and context-derived
 * passwords. The reason for a refusal is always shown to the person.
 */
export interface PasswordRules {
  minLength: number;
  maxLength: number;
}

/** Words a person's password must not be built on: their email, name, organization. */
export interface PasswordContext {
  email?: string;
  name?: string | null;
  organization?: string;
}

export type PasswordProblem =
  | { code: 'too_short'; message: string }
  | { code: 'too_long'; message: string }
  | { code: 'common'; message: string }
  | { code: 'repetitive'; message: string }
  | { code: 'contextual'; message: string };

/** NFKC, as §3.1.1.2 asks, so the same password typed on two keyboards hashes alike. */
export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

/** Counts user-perceived characters (code points), not UTF-16 units. */
const lengthOf = (value: string) => [...value].length;

/** Negative, zero or positive as `word` sorts before, equals or sorts after `text[start, end)` (code units). */
function compareAt(word: string, text: string, start: number, end: number): number {
  const shorter = Math.min(word.length, end - start);
  for (let i = 0; i < shorter; i++) {
    const difference = word.charCodeAt(i) - text.charCodeAt(start + i);
    if (difference !== 0) return difference;
  }
  return word.length - (end - start);
}

/**
 * The common passwords as one sorted string and the offsets of its words, searched by halving:
 * about 0.25 MiB where a Set of 18,000 strings held 1.5 MiB (memory, issue 11).
 */
function loadBlocklist(): { has(word: string): boolean } {
  const text = readFileSync(new URL('./common-passwords.txt', import.meta.url), 'utf8');
  const words = text.split('\n').filter((line) => line && !line.startsWith('#'));
  // The default sort orders by UTF-16 code units, as compareAt does.
  words.sort();
  const joined = words.join('\n');
  // starts[i] is where word i begins; starts[i + 1] - 1 where it ends (the separator or the end).
  const starts = new Uint32Array(words.length + 1);
  for (let i = 0; i < words.length; i++) starts[i + 1] = starts[i]! + words[i]!.length + 1;
  const count = words.length;
  return {
    has(word) {
      let low = 0;
      let high = count - 1;
      while (low <= high) {
        const middle = (low + high) >>> 1;
        const order = compareAt(word, joined, starts[middle]!, starts[middle + 1]! - 1);
        if (order === 0) return true;
        if (order < 0) high = middle - 1;
        else low = middle + 1;
      }
      return false;
    },
  };
}

/** Keyboard walks and digit runs, forwards; a password inside one (either way) is predictable. */
const WALKS = [
  'qwertyuiopasdfghjklzxcvbnm',
  'azertyuiopqsdfghjklmwxcvbn',
  'qwertzuiopasdfghjklyxcvbnm',
  '1234567890',
  'abcdefghijklmnopqrstuvwxyz',
];

function isWalk(password: string): boolean {
  return WALKS.some((walk) => {
    const track = walk.repeat(Math.ceil(password.length / walk.length) + 1);
    return track.includes(password) || track.includes([...password].reverse().join(''));
  });
}

/** True when a block of at most four characters repeats through the whole password ("abcabcabc…", "121212…"). */
function isPeriodic(chars: string[]): boolean {
  for (let period = 1; period <= Math.min(4, Math.floor(chars.length / 3)); period++) {
    if (chars.every((c, i) => i < period || c === chars[i - period])) return true;
  }
  return false;
}

function isRepetitive(password: string): boolean {
  const lower = password.toLowerCase();
  const chars = [...lower];
  return new Set(chars).size <= 2 || isPeriodic(chars) || isWalk(lower);
}

function contextWords(context: PasswordContext): string[] {
  const words = [context.email?.split('@')[0], context.email, context.name, context.organization, 'twofold'];
  return words.filter((w): w is string => typeof w === 'string' && lengthOf(w) >= 4).map((w) => w.toLowerCase());
}

export interface PasswordPolicy {
  /** Every problem with the password, in the order a person should fix them; empty when acceptable. */
  check(password: string, rules: PasswordRules, context?: PasswordContext): PasswordProblem[];
}

export function createPasswordPolicy(): PasswordPolicy {
  const blocklist = loadBlocklist();
  return {
    check(raw, rules, context = {}) {
      const password = normalizePassword(raw);
      const length = lengthOf(password);
      if (length > rules.maxLength) {
        return [{ code: 'too_long', message: `Use at most ${rules.maxLength} characters.` }];
      }
      const problems: PasswordProblem[] = [];
      if (length < rules.minLength) {
        problems.push({
          code: 'too_short',
          message: tooShortMessage(rules.minLength, length),
        });
      }
      const lower = password.toLowerCase();
      if (blocklist.has(lower)) {
        problems.push({
          code: 'common',
          message: 'This password is on a list of commonly used or leaked passwords. Choose another.',
        });
      } else if (length > 0 && isRepetitive(password)) {
        problems.push({
          code: 'repetitive',
          message: 'Avoid repeated or sequential characters such as "aaaa" or "1234".',
        });
      }
      const word = contextWords(context).find((w) => lower === w || (lower.includes(w) && length - lengthOf(w) < 4));
      if (word) {
        problems.push({
          code: 'contextual',
          message: 'Do not build your password on your email, your name or your organization.',
        });
      }
      return problems;
    },
  };
}

/**
 * What a too-short password is told. Pages give `{n}` as the length: their own check before the form
 * is sent (public/check-form.js) fills in the length typed, in the same words the server answers with.
 */
export function tooShortMessage(minLength: number, length: number | '{n}'): string {
  return `Use at least ${minLength} characters (you have ${length}). A few unrelated words make a long password easy to remember.`;
}
