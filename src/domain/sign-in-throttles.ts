import type { Person } from '../factors/factor.ts';
import { normalizeEmail } from '../ports/stores.ts';
import type { Audit } from './audit.ts';
import type { AdminActor } from './person-status.ts';
import type { AccountThrottleState, Throttle } from './throttle.ts';

/** The steps of signing in whose failures are counted per account. */
export type ThrottledStep = 'password' | 'second_factor' | 'app_password';

export interface StepThrottle {
  step: ThrottledStep;
  state: AccountThrottleState;
}

/**
 * A person's own failure counters, as their administrator sees and clears them: the password at
 * sign-in, the second step's codes, and the password grant of mail and calendar apps. Only the
 * person's account-level counters; addresses and device cookies keep theirs (clearing those would
 * also forgive an attacker's guesses at other accounts).
 */
export interface SignInThrottles {
  /** The steps where the person has failures counted now. */
  stateOf(person: Person): Promise<StepThrottle[]>;
  /** Forgets them all and records `throttle.cleared`; resolves to the steps that had failures. */
  clear(person: Person, by: AdminActor): Promise<ThrottledStep[]>;
}

export function createSignInThrottles(deps: {
  /** accounts.ts counts password failures under the normalized email that was typed. */
  password: Throttle;
  /** verification-routes.ts counts second-step failures under the person's id. */
  secondFactor: Throttle;
  /** legacy-sign-in.ts counts the password grant's failures under the normalized username (the email). */
  appPassword: Throttle;
  audit: Audit;
}): SignInThrottles {
  const counters = (person: Person): [ThrottledStep, Throttle, string][] => [
    ['password', deps.password, normalizeEmail(person.email)],
    ['second_factor', deps.secondFactor, person.userId],
    ['app_password', deps.appPassword, normalizeEmail(person.email)],
  ];

  async function stateOf(person: Person): Promise<StepThrottle[]> {
    const states = await Promise.all(
      counters(person).map(async ([step, throttle, key]) => ({ step, state: await throttle.accountState(key) })),
    );
    return states.filter((s): s is StepThrottle => s.state !== null);
  }

  return {
    stateOf,
    async clear(person, by) {
      const counted = (await stateOf(person)).map((s) => s.step);
      await Promise.all(counters(person).map(([, throttle, key]) => throttle.clearAccount(key)));
      await deps.audit.record({
        type: 'throttle.cleared',
        orgId: person.orgId,
        userId: person.userId,
        actor: by.actor,
        ip: by.ip,
        detail: { steps: counted },
      });
      return counted;
    },
  };
}
