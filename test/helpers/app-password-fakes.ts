import type { AppPasswordTokens } from '../../src/domain/app-passwords.ts';
import type { AppPasswordStore, AppPasswordUse } from '../../src/ports/app-password-store.ts';
import type { Mailer, OutgoingEmail } from '../../src/ports/mailer.ts';
import type { PasswordHasher } from '../../src/ports/password-hasher.ts';
import { createArgon2Hasher } from '../../src/security/argon2-hasher.ts';

/**
 * Fakes of the ports around app passwords, for the unit tests of app-passwords.ts and
 * legacy-sign-in.ts: each implements a port and records what it was asked to do.
 */

/** Ends nothing; remembers which app passwords' tokens it was asked to end. */
export function createRecordingTokens(): AppPasswordTokens & { revoked: string[] } {
  const revoked: string[] = [];
  return { revoked, revokeTokensOf: async (id) => void revoked.push(id) };
}

/** Sends nothing; keeps every email. */
export function createCollectingMailer(): Mailer & { sent: OutgoingEmail[] } {
  const sent: OutgoingEmail[] = [];
  return { sent, send: async (email) => void sent.push(email), settled: async () => {} };
}

/** argon2id at the lowest cost the configuration allows, counting its work. */
export function createCountingArgon2(): PasswordHasher & { calls: { hash: number; verify: number } } {
  const argon2 = createArgon2Hasher({ memoryCost: 7168, timeCost: 1, parallelism: 1 });
  const calls = { hash: 0, verify: 0 };
  return {
    calls,
    hash: (password) => (calls.hash++, argon2.hash(password)),
    verify: (stored, password) => (calls.verify++, argon2.verify(stored, password)),
    needsRehash: (stored) => argon2.needsRehash(stored),
  };
}

/** A real store that also keeps every batch of last uses it is asked to write. */
export function createWatchedAppPasswordStore(store: AppPasswordStore): AppPasswordStore & {
  batches: AppPasswordUse[][];
} {
  const batches: AppPasswordUse[][] = [];
  return {
    ...store,
    batches,
    async recordAppPasswordUses(uses) {
      batches.push([...uses]);
      await store.recordAppPasswordUses(uses);
    },
  };
}
