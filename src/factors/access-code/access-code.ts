import { z } from 'zod';

import type { AccessCodes } from '../../domain/access-codes.ts';
import { fail, type Factor } from '../factor.ts';

const KIND = 'access-code';
const input = z.object({ code: z.string().max(64, 'That code is too long.').default('') });

/**
 * A temporary access code as a sign-in factor: offered while the person has a live code, proven
 * once, and a bootstrap (the sign-in goes on to enrol a new method before it completes).
 *
 * amr: RFC 8176 §2 has no value for "a one-time secret an administrator handed over"; "otp" (a
 * one-time password; HOTP and TOTP are its examples, not its definition) is the registered value
 * that says what the person proved, and it is what relying parties understand. A private value
 * would be unknown to every relying party. The code does not make a sign-in multi-factor on its
 * own in practice: the sign-in completes only with the method enrolled after it.
 */
export function createAccessCodeFactor(deps: { codes: AccessCodes }): Factor<z.output<typeof input>> {
  return {
    kind: KIND,
    name: 'Temporary access code',
    input,
    bootstrap: true,
    // Typed, so it can be relayed; it only opens the enrolment of a (possibly phishing-resistant) method.
    phishingResistant: false,
    describe: () => null,
    async available(person) {
      const live = await deps.codes.live(person);
      return live ? { id: KIND, kind: KIND, label: 'Temporary access code', detail: 'from your administrator' } : null;
    },
    async verify(person, _records, fields) {
      const outcome = await deps.codes.use(person, fields.code);
      if (outcome === 'malformed') {
        return fail('malformed', 'Enter the 12-character code your administrator gave you, like K7QM-X3TD-9FHP.');
      }
      if (outcome === 'refused') {
        return fail(
          'invalid',
          'That code is not right, or it has expired or was already used. Ask your administrator for a new one.',
        );
      }
      return { ok: true, proven: { method: KIND, amr: ['otp'], factorId: null } };
    },
  } satisfies Factor<z.output<typeof input>>;
}
