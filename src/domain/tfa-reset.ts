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
      // Sessions and tokens end first (issues 8 and 9: they say amr mfa, proven with a factor that is
      // about to go), outside the transaction (they live in Redis in scale-out): should what follows
      // fail, the person only signs in again with the factors they still have. Fails closed.
      const ended = await deps.access.endAll(person.userId);
      const appPasswordsRevoked = !options.keepAppPasswords;
      // Factors, recovery codes, trusted browsers, app passwords and the event commit together or not
      // at all: the next sign-in starts afresh (with enrolment, if the organization enforces TFA).
      return deps.transactions.run(async () => {
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
    },
  };
}
