import type { Person, ProvenMethod } from '../factors/factor.ts';
import type { FactorRegistry } from '../factors/registry.ts';
import type { CompletedMethod } from './authentication.ts';
import type { Clock } from '../ports/clock.ts';
import type { EphemeralStore } from '../ports/ephemeral-store.ts';
import type { FactorRecord, FactorStore } from '../ports/factor-stores.ts';
import type { Organization, UserWithOrganization } from '../ports/stores.ts';
import type { TrustedBrowsers } from './trusted-browsers.ts';

/**
 * The state of a sign-in between the password and the second factor, keyed by the
 * oidc-provider interaction. The `login` prompt is resolved only from here, after every
 * required factor: a correct password alone never yields a session.
 */
export interface PendingSignIn {
  /** Which second step this sign-in is at: proving an existing factor, or enrolling a first one. */
  step: 'second-factor' | 'enrol';
  person: Person;
  methods: CompletedMethod[];
  /** The organization enforces TFA, or the relying party asked for acr mfa: enrol if no factor. */
  mfaRequired: boolean;
  /** The organization allows "trust this browser" (and for how long). */
  trustDays: number;
  /** Re-authentication (prompt=login, max_age): a trusted browser never skips the factor then. */
  reauthentication: boolean;
  /** Forced enrolment: the factor just enrolled (it proves possession) and whether its recovery codes were shown. */
  enrolled?: ProvenMethod;
  codesShown?: boolean;
  /**
   * A bootstrap factor (a temporary access code) was proven: the sign-in completes only once a new
   * method is enrolled, beside any the person already has.
   */
  bootstrapped?: boolean;
}

export type NextStep =
  { step: 'done'; methods: CompletedMethod[] } | { step: 'second-factor' | 'enrol'; pending: PendingSignIn };

export interface SignInFlow {
  /** Decides what follows a correct password and remembers it for the interaction. */
  afterPassword(
    uid: string,
    account: UserWithOrganization,
    context: { mfaRequested: boolean; reauthentication: boolean; trustToken: string | undefined },
  ): Promise<NextStep>;
  pending(uid: string): Promise<PendingSignIn | undefined>;
  /** Stores progress made inside the second step (enrolment). */
  save(uid: string, pending: PendingSignIn): Promise<void>;
  /** Adds a proven factor and ends the pending state (atomically: one completion per interaction). */
  complete(uid: string, proven: ProvenMethod): Promise<CompletedMethod[] | undefined>;
  /**
   * Adds the factor proven at the second step: the sign-in is done, or, for a bootstrap factor,
   * it goes on to enrolment (taken atomically like `complete`).
   */
  afterSecondFactor(uid: string, proven: ProvenMethod): Promise<NextStep | undefined>;
  activeFactors(person: Person): Promise<FactorRecord[]>;
}

const PENDING_TTL_SECONDS = 15 * 60;
const key = (uid: string) => `signin:${uid}`;

export function personOf(account: UserWithOrganization): Person {
  return { orgId: account.organization.id, userId: account.user.id, email: account.user.email };
}

export function createSignInFlow(deps: {
  factors: FactorStore;
  registry: Pick<FactorRegistry, 'get' | 'all'>;
  ephemeral: EphemeralStore;
  trustedBrowsers: TrustedBrowsers;
  clock: Clock;
}): SignInFlow {
  const now = () => Math.floor(deps.clock.now() / 1000);
  const activeFactors = async (person: Person) =>
    (await deps.factors.findFactors(person.orgId, person.userId)).filter((f) => f.active);
  const put = (uid: string, pending: PendingSignIn) => deps.ephemeral.put(key(uid), pending, PENDING_TTL_SECONDS);
  /** A bootstrap (a live temporary access code) the person can prove instead of a method they do not have. */
  async function bootstrapAvailable(person: Person): Promise<boolean> {
    const bootstraps = deps.registry.all().filter((factor) => factor.bootstrap && factor.available);
    const choices = await Promise.all(bootstraps.map((factor) => factor.available!(person)));
    return choices.some((choice) => choice !== null);
  }
  async function take(uid: string, proven: ProvenMethod) {
    const pending = await deps.ephemeral.take<PendingSignIn>(key(uid));
    if (!pending) return undefined;
    return { pending, methods: [...pending.methods, { method: proven.method, amr: proven.amr, at: now() }] };
  }

  return {
    async afterPassword(uid, account, context) {
      const person = personOf(account);
      const org: Organization = account.organization;
      const methods: CompletedMethod[] = [{ method: 'password', amr: ['pwd'], at: now() }];
      const factors = await activeFactors(person);
      const mfaRequired = org.enforceTfa || context.mfaRequested;
      const base = {
        person,
        methods,
        mfaRequired,
        trustDays: org.trustedBrowserDays,
        reauthentication: context.reauthentication,
      };
      if (factors.length === 0) {
        if (!mfaRequired) return { step: 'done', methods };
        // An administrator who issued a temporary access code wants it proven before a new method
        // is enrolled: the password alone no longer opens enrolment.
        const step = (await bootstrapAvailable(person)) ? 'second-factor' : 'enrol';
        const pending: PendingSignIn = { ...base, step };
        await put(uid, pending);
        return { step, pending };
      }
      const pending: PendingSignIn = { ...base, step: 'second-factor' };
      // A trusted browser skips the factor at sign-in, never at re-authentication, and never when
      // the relying party demands MFA (the session is then honestly password-only).
      const trustable =
        !context.reauthentication && !context.mfaRequested && org.trustedBrowserDays > 0 && context.trustToken;
      if (trustable && (await deps.trustedBrowsers.isTrusted(person, context.trustToken!)))
        return { step: 'done', methods };
      await put(uid, pending);
      return { step: 'second-factor', pending };
    },
    pending: (uid) => deps.ephemeral.get<PendingSignIn>(key(uid)),
    save: put,
    async complete(uid, proven) {
      return (await take(uid, proven))?.methods;
    },
    async afterSecondFactor(uid, proven) {
      const taken = await take(uid, proven);
      if (!taken) return undefined;
      if (!deps.registry.get(proven.method)?.bootstrap) return { step: 'done', methods: taken.methods };
      // The code is spent; what it opens is enrolment in this same sign-in, never a session.
      const pending: PendingSignIn = {
        ...taken.pending,
        step: 'enrol',
        methods: taken.methods,
        mfaRequired: true,
        bootstrapped: true,
      };
      await put(uid, pending);
      return { step: 'enrol', pending };
    },
    activeFactors,
  };
}
