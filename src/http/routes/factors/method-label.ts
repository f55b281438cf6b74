import type { FactorSummary } from '../../../factors/factor.ts';

/** The words of a name, lower-cased and without a plural "s": "Text messages" → text, message. */
const wordsOf = (text: string) =>
  new Set((text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).map((w) => w.replace(/s$/, '')));

/**
 * A method's label when it says more than the kind's name ("Pixel phone"), else null: a label that
 * only repeats it ("Authenticator app", "Text messages" beside "Text message (SMS)") is not shown.
 */
export function distinctLabel(label: string, kindName: string): string | null {
  const kind = wordsOf(kindName);
  return [...wordsOf(label)].every((word) => kind.has(word)) ? null : label;
}

/**
 * Enrolment proves a method with its first use, and that proof is stored as its last use; a use
 * this close to the enrolment is the enrolment itself (the code's lifetime, with room to type it).
 */
const ENROLMENT_WINDOW_MS = 15 * 60_000;

/** A method as the lists show it: its label only when it adds something, and a last use only after enrolment. */
export function methodRow(method: FactorSummary) {
  const used = method.lastUsedAt !== null && method.lastUsedAt - method.createdAt > ENROLMENT_WINDOW_MS;
  return {
    ...method,
    label: distinctLabel(method.label, method.kindName),
    name: method.label,
    lastUsedAt: used ? method.lastUsedAt : null,
  };
}
