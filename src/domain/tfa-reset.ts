import type { Person } from '../factors/factor.ts';
import type { AccountAccess } from '../ports/account-access.ts';
import type { FactorStore } from '../ports/factor-stores.ts';
import type { Transactions } from '../ports/transactions.ts';
import type { AppPasswords } from './app-passwords.ts';
import type { Audit } from './audit.ts';

/** Who asked for a reset: `actor` names the channel or operator (`cli`), `ip` where it came from. */
export interface ResetActor {
  actor: string;
  ip?: string;
}

/** An operator's reset of a person's second factors after a lost device. */
export interface TfaReset {
  /**
   * Removes every factor of the person, ends every session and grant they have (so nothing signed in
   * with the lost factor stays signed in) and records `tfa.reset`; resolves to how many factors went.
   * App passwords are revoked too (a lost phone often goes with a lost laptop) unless kept.
   */
  resetTfa(person: Person, by: ResetActor, options?: { keepAppPasswords?: boolean }): Promise<number>;
}

export function createTfaReset(deps: {
  factors: FactorStore;
  appPasswords: Pick<AppPasswords, 'revokeAll'>;
  audit: Audit;
  access: AccountAccess;
  transactions: Pick<Transactions, 'run'>;
}): TfaReset {
  return {
    async resetTfa(person, by, options = {}) {
      // Sessions and tokens (issues 8 and 9: they say amr mfa, proven with a factor that is going)
      // end before the transaction, so that a crash part-way fails closed (the person signs in again
      // with the factors they still have), and again once it has committed, so that no session
      // proven in between with the lost factor survives it. They live in Redis in scale-out.
      const ended = await deps.access.endAll(person.userId);
      const appPasswordsRevoked = !options.keepAppPasswords;
      // Factors, recovery codes, trusted browsers, app passwords and the event commit together or not
      // at all: the next sign-in starts afresh (with enrolment, if the organization enforces TFA).
      const removed = await deps.transactions.run(async () => {
        const count = await deps.factors.deleteAllFactors(person.orgId, person.userId);
        await deps.audit.record({
          type: 'tfa.reset',
          orgId: person.orgId,
          userId: person.userId,
          actor: by.actor,
          ip: by.ip,
          detail: { by: by.actor, removed: count, sessions: ended.sessions, grants: ended.grants, appPasswordsRevoked },
        });
        if (appPasswordsRevoked) await deps.appPasswords.revokeAll(person, by.ip ?? '', by.actor);
        return count;
      });
      await deps.access.endAll(person.userId);
      return removed;
    },
  };
}
