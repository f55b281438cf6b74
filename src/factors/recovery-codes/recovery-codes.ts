import { z } from 'zod';

import type { Audit } from '../../domain/audit.ts';
import { FEW_RECOVERY_CODES } from '../../domain/security-notice-texts.ts';
import type { Clock } from '../../ports/clock.ts';
import type { RecoveryCodeStore } from '../../ports/factor-stores.ts';
import type { Random } from '../../ports/random.ts';
import type { KeyedHash } from '../../ports/keyed-hash.ts';
import { fail, type Factor, type Person } from '../factor.ts';

/** No 0/o, 1/l/i: codes are read off paper. 12 characters of 31 symbols ≈ 59 bits each. */
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
const COUNT = 10;
const LENGTH = 12;

/** Spaces, hyphens and case do not matter when a code is typed back. */
export function normalizeRecoveryCode(input: string): string {
  return input.toLowerCase().replace(/[\s-]+/g, '');
}

const input = z.object({ code: z.string().max(64, 'That code is too long.').default('') });

/** Ten single-use codes for when the phone is lost: made with the first factor, shown once. */
export interface RecoveryCodes extends Factor<z.output<typeof input>> {
  /** Creates a new set of ten (the old set dies); the plain codes are returned to show once. */
  regenerate(person: Person): Promise<string[]>;
  remaining(person: Person): Promise<number>;
}

export function createRecoveryCodes(deps: {
  store: RecoveryCodeStore;
  keyedHash: KeyedHash;
  clock: Clock;
  random: Random;
  audit: Audit;
}): RecoveryCodes {
  const digest = (person: Person, code: string) => deps.keyedHash.digest('recovery-code', `${person.userId}:${code}`);

  function newCode(): string {
    // Rejection sampling keeps every symbol equally likely (256 is not a multiple of 31).
    let code = '';
    while (code.length < LENGTH) {
      for (const byte of deps.random.bytes(LENGTH)) {
        if (byte < 248 && code.length < LENGTH) code += ALPHABET[byte % ALPHABET.length];
      }
    }
    return `${code.slice(0, 4)}-${code.slice(4, 8)}-${code.slice(8)}`;
  }

  const remaining = (person: Person) => deps.store.countUnusedRecoveryCodes(person.orgId, person.userId);

  return {
    kind: 'recovery',
    name: 'Recovery code',
    phishingResistant: false,
    input,
    describe: () => null,
    async available(person) {
      const left = await remaining(person);
      return left > 0 ? { id: 'recovery', kind: 'recovery', label: 'Recovery code', detail: `${left} left` } : null;
    },
    async regenerate(person) {
      const codes = Array.from({ length: COUNT }, newCode);
      const hashes = codes.map((c) => digest(person, normalizeRecoveryCode(c)));
      await deps.store.replaceRecoveryCodes(person.orgId, person.userId, hashes, deps.clock.now());
      return codes;
    },
    async verify(person, _records, fields, context) {
      const normalized = normalizeRecoveryCode(fields.code);
      if (normalized.length !== LENGTH || ![...normalized].every((c) => ALPHABET.includes(c))) {
        return fail('malformed', 'Enter one of your recovery codes, like abcd-efgh-jkmn.');
      }
      const used = await deps.store.consumeRecoveryCode(
        person.orgId,
        person.userId,
        digest(person, normalized),
        deps.clock.now(),
      );
      if (!used) return fail('invalid', 'That recovery code is not right or was already used.');
      const left = await remaining(person);
      // How many are left goes into the event: the person is emailed, and told to make more when few remain.
      await deps.audit.record({
        type: 'recovery_code.used',
        orgId: person.orgId,
        userId: person.userId,
        ip: context.ip,
        detail: { remaining: left },
      });
      const notice = { left, few: left <= FEW_RECOVERY_CODES };
      return { ok: true, proven: { method: 'recovery', amr: ['otp'], factorId: null }, notice };
    },
    remaining,
  };
}
