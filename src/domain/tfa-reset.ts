import type { Person } from '../factors/factor.ts';
import type { FactorStore } from '../ports/factor-stores.ts';
import type { Audit } from './audit.ts';

/** Who asked for a reset: `actor` names the channel or operator (`cli`), `ip` where it came from. */
export interface ResetActor {
  actor: string;
  ip?: string;
}

/** An operator's reset of a person's second factors after a lost device. */
export interface TfaReset {
  /** Removes every factor of the person and records `tfa.reset`; resolves to how many factors went. */
  resetTfa(person: Person, by: ResetActor): Promise<number>;
}

export function createTfaReset(deps: { factors: FactorStore; audit: Audit }): TfaReset {
  return {
    async resetTfa(person, by) {
      // Factors, recovery codes and trusted browsers go together: the next sign-in starts afresh
      // (with enrolment, if the organization enforces TFA).
      const removed = await deps.factors.deleteAllFactors(person.orgId, person.userId);
      await deps.audit.record({
        type: 'tfa.reset',
        orgId: person.orgId,
        userId: person.userId,
        ip: by.ip,
        detail: { by: by.actor, removed },
      });
      return removed;
    },
  };
}
