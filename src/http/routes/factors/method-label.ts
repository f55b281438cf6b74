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

/** A method as the lists show it: its label only when it adds something to the kind's name. */
export function methodRow(method: FactorSummary) {
  return { ...method, label: distinctLabel(method.label, method.kindName), name: method.label };
}
