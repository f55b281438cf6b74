import { tooShortMessage } from '../domain/passwords/policy.ts';

/** What a new-password page needs for its length hint and check: the minimum, and the policy's sentence. */
export function lengthCheck(minLength: number): { minLength: number; tooShort: string } {
  return { minLength, tooShort: tooShortMessage(minLength, '{n}') };
}
