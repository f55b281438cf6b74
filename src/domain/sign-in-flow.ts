import type { Person, ProvenMethod } from '../factors/factor.ts';
import type { FactorRegistry } from '../factors/registry.ts';
import type { CompletedMethod } from './authentication.ts';
import type { Clock } from '../ports/clock.ts';
import type { EphemeralStore } from '../ports/ephemeral-store.ts';
import type { FactorRecord, FactorStore } from '../ports/factor-stores.ts';
import type { Organization, UserWithOrganization } from '../ports/stores.ts';
import type { TfaRequirement } from './tfa-requirement.ts';
import type { TrustedBrowsers } from './trusted-browsers.ts';

/**
 * The state of a sign-in between the password and the second factor, keyed by the
 * oidc-provider interaction. The `login` prompt is resolved only from here, after every
 * required factor: a correct password alone never yields a session.
 */
export interface PendingSignIn {
  /**
   * Which second step this sign-in is at: proving a factor, enrolling a first (or first allowed)
   * one, or choosing between enrolling now and later while an enrolment deadline is ahead.
   */
  step: 'second-factor' | 'enrol' | 'grace';
  person: Person;
  /** What the pages of this sign-in show of the person's organization (its name and logo). */
  organization: Pick<Organization, 'name' | 'logoUrl'>;
  methods: CompletedMethod[];
  /** The organization enforces TFA, or the relying party asked for acr mfa: enrol if no factor. */
  mfaRequired: boolean;
  /** The organization allows "trust this browser" (and for how long). */
  trustDays: number;
  /** Re-authentication (prompt=login, max_age): a trusted browser never skips the factor then. */
  reauthentication: boolean;
  /** The factor kinds the second step accepts: the organization's policy when the password was right. */
  accepted: string[];
  /** Every method of the person is forbidden: the factor proven here leads to enrolling an allowed one. */
  switching: boolean;
  /**
   * A bootstrap factor (a temporary access code) was proven: the sign-in completes only once a new
   * method is enrolled, beside any the person already has.
   */
  bootstrapped?: boolean;
  /** The enrolment deadline shown at the grace step. */
  graceUntil?: number;
  /** Forced enrolment: the factor just enrolled (it proves possession) and whether its recovery codes were shown. */
  enrolled?: ProvenMethod;
  codesShown?: boolean;
}

export type NextStep =
  { step: 'done'; methods: CompletedMethod[] } | { step: PendingSignIn['step']; pending: PendingSignIn };

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
  /**
   * "Not now" at the grace step: the sign-in ends with the password alone, if the person's
   * deadline (read again, an administrator may have ended it) is still ahead; else they enrol.
   */
  postpone(uid: string, account: UserWithOrganization): Promise<NextStep | undefined>;
  /** "Set up now" at the grace step, or a switching person's proven factor: enrolment comes next. */
  enrolNext(uid: string, proven?: ProvenMethod): Promise<PendingSignIn | undefined>;
  activeFactors(person: Person): Promise<FactorRecord[]>;
}

const PENDING_TTL_SECONDS = 15 * 60;
const key = (uid: string) => `signin:${uid}`;

export function personOf(account: UserWithOrganization): Person {
  return { orgId: account.organization.id, userId: account.user.id, email: account.user.email };
}

export function createSignInFlow(deps: {
  factors: FactorStore;
  ephemeral: EphemeralStore;
  trustedBrowsers: TrustedBrowsers;
  requirement: TfaRequirement;
  registry: Pick<FactorRegistry, 'get' | 'all'>;
  clock: Clock;
}): SignInFlow {
  const now = () => Math.floor(deps.clock.now() / 1000);
  const activeFactors = async (person: Person) =>
    (await deps.factors.findFactors(person.orgId, person.userId)).filter((f) => f.active);
  /** The bootstraps (a live temporary access code) the person can prove instead of a method they do not have. */
  async function bootstrapKinds(person: Person): Promise<string[]> {
    const bootstraps = deps.registry.all().filter((factor) => factor.bootstrap && factor.available);
    const choices = await Promise.all(bootstraps.map((factor) => factor.available!(person)));
    return bootstraps.filter((_, i) => choices[i] !== null).map((factor) => factor.kind);
  }
  async function take(uid: string, proven: ProvenMethod) {
    const pending = await deps.ephemeral.take<PendingSignIn>(key(uid));
    if (!pending) return undefined;
    return { pending, methods: [...pending.methods, { method: proven.method, amr: proven.amr, at: now() }] };
  }
  const remember = async (uid: string, pending: PendingSignIn): Promise<NextStep> => {
    await deps.ephemeral.put(key(uid), pending, PENDING_TTL_SECONDS);
    return { step: pending.step, pending };
  };

  return {
    async afterPassword(uid, account, context) {
      const person = personOf(account);
      const org: Organization = account.organization;
      const methods: CompletedMethod[] = [{ method: 'password', amr: ['pwd'], at: now() }];
      const demand = await deps.requirement.assess(account, { mfaRequested: context.mfaRequested });
      const base = {
        person,
        organization: { name: org.name, logoUrl: org.logoUrl },
        methods,
        mfaRequired: org.enforceTfa || context.mfaRequested,
        trustDays: org.trustedBrowserDays,
        reauthentication: context.reauthentication,
        accepted: [],
        switching: false,
      };
      if (demand.step === 'none') return { step: 'done', methods };
      if (demand.step === 'grace')
        return remember(uid, { ...base, step: 'grace', mfaRequired: true, graceUntil: demand.until });
      if (demand.step === 'enrol') {
        // An administrator who issued a temporary access code wants it proven before a new method
        // is enrolled: the password alone no longer opens enrolment.
        const bootstraps = await bootstrapKinds(person);
        if (bootstraps.length > 0)
          return remember(uid, { ...base, step: 'second-factor', mfaRequired: true, accepted: bootstraps });
        return remember(uid, { ...base, step: 'enrol', mfaRequired: true });
      }
      if (demand.step === 'switch')
        return remember(uid, { ...base, step: 'second-factor', accepted: demand.kinds, switching: true });
      // A trusted browser skips the factor at sign-in, never at re-authentication, and never when
      // the relying party demands MFA (the session is then honestly password-only).
      const trustable =
        !context.reauthentication && !context.mfaRequested && org.trustedBrowserDays > 0 && context.trustToken;
      if (trustable && (await deps.trustedBrowsers.isTrusted(person, context.trustToken!)))
        return { step: 'done', methods };
      return remember(uid, { ...base, step: 'second-factor', accepted: demand.kinds });
    },
    pending: (uid) => deps.ephemeral.get<PendingSignIn>(key(uid)),
    save: (uid, pending) => deps.ephemeral.put(key(uid), pending, PENDING_TTL_SECONDS),
    async complete(uid, proven) {
      return (await take(uid, proven))?.methods;
    },
    async afterSecondFactor(uid, proven) {
      const taken = await take(uid, proven);
      if (!taken) return undefined;
      if (!deps.registry.get(proven.method)?.bootstrap) return { step: 'done', methods: taken.methods };
      // The code is spent; what it opens is enrolment in this same sign-in, never a session.
      const { pending } = taken;
      return remember(uid, {
        ...pending,
        step: 'enrol',
        methods: taken.methods,
        mfaRequired: true,
        bootstrapped: true,
      });
    },
    async postpone(uid, account) {
      const pending = await deps.ephemeral.get<PendingSignIn>(key(uid));
      if (pending?.step !== 'grace') return undefined;
      const demand = await deps.requirement.assess(account, { mfaRequested: false });
      if (demand.step !== 'grace') return remember(uid, { ...pending, step: 'enrol' });
      // Taken atomically: one "Not now" ends one sign-in.
      const taken = await deps.ephemeral.take<PendingSignIn>(key(uid));
      return taken && { step: 'done', methods: taken.methods };
    },
    async enrolNext(uid, proven) {
      const pending = await deps.ephemeral.get<PendingSignIn>(key(uid));
      const mayEnrol = proven ? pending?.step === 'second-factor' && pending.switching : pending?.step === 'grace';
      if (!pending || !mayEnrol) return undefined;
      const methods = proven
        ? [...pending.methods, { method: proven.method, amr: proven.amr, at: now() }]
        : pending.methods;
      // `switching` stays: the enrolment page says why the person is there.
      const next: PendingSignIn = { ...pending, step: 'enrol', mfaRequired: true, accepted: [], methods };
      await deps.ephemeral.put(key(uid), next, PENDING_TTL_SECONDS);
      return next;
    },
    activeFactors,
  };
}
