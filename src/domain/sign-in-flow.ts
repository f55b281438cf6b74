import type { Person, ProvenMethod } from '../factors/factor.ts';
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
  /** What the pages of this sign-in show of the person's organization (its name and logo). */
  organization: Pick<Organization, 'name' | 'logoUrl'>;
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
  clock: Clock;
}): SignInFlow {
  const now = () => Math.floor(deps.clock.now() / 1000);
  const activeFactors = async (person: Person) =>
    (await deps.factors.findFactors(person.orgId, person.userId)).filter((f) => f.active);

  return {
    async afterPassword(uid, account, context) {
      const person = personOf(account);
      const org: Organization = account.organization;
      const methods: CompletedMethod[] = [{ method: 'password', amr: ['pwd'], at: now() }];
      const factors = await activeFactors(person);
      const mfaRequired = org.enforceTfa || context.mfaRequested;
      const base = {
        person,
        organization: { name: org.name, logoUrl: org.logoUrl },
        methods,
        mfaRequired,
        trustDays: org.trustedBrowserDays,
        reauthentication: context.reauthentication,
      };
      if (factors.length === 0) {
        if (!mfaRequired) return { step: 'done', methods };
        const pending: PendingSignIn = { ...base, step: 'enrol' };
        await deps.ephemeral.put(key(uid), pending, PENDING_TTL_SECONDS);
        return { step: 'enrol', pending };
      }
      const pending: PendingSignIn = { ...base, step: 'second-factor' };
      // A trusted browser skips the factor at sign-in, never at re-authentication, and never when
      // the relying party demands MFA (the session is then honestly password-only).
      const trustable =
        !context.reauthentication && !context.mfaRequested && org.trustedBrowserDays > 0 && context.trustToken;
      if (trustable && (await deps.trustedBrowsers.isTrusted(person, context.trustToken!)))
        return { step: 'done', methods };
      await deps.ephemeral.put(key(uid), pending, PENDING_TTL_SECONDS);
      return { step: 'second-factor', pending };
    },
    pending: (uid) => deps.ephemeral.get<PendingSignIn>(key(uid)),
    save: (uid, pending) => deps.ephemeral.put(key(uid), pending, PENDING_TTL_SECONDS),
    async complete(uid, proven) {
      const pending = await deps.ephemeral.take<PendingSignIn>(key(uid));
      if (!pending) return undefined;
      return [...pending.methods, { method: proven.method, amr: proven.amr, at: now() }];
    },
    activeFactors,
  };
}
