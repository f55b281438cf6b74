import { phishingResistanceRequired, type FactorRegistry } from '../factors/registry.ts';
import type { Clock } from '../ports/clock.ts';
import type { FactorStore } from '../ports/factor-stores.ts';
import type { Organization, User, UserWithOrganization } from '../ports/stores.ts';

export const DAY_MS = 86_400_000;

/**
 * When a member of an organization that enforces TFA must have a second factor (the enrolment
 * grace, issue 9). An administrator's deadline for the person wins, as long as it belongs to the
 * current enforcement: one earlier than enforcement's last start was set before it and no longer
 * counts. Otherwise the later of that start and the person's joining, plus the organization's
 * grace days (0: at once). Null while the organization does not enforce TFA.
 */
export function enrolmentDeadline(org: Organization, user: User): number | null {
  if (!org.enforceTfa) return null;
  const start = org.tfaEnforcedAt ?? org.createdAt;
  if (user.tfaGraceUntil !== null && user.tfaGraceUntil >= start) return user.tfaGraceUntil;
  return Math.max(start, user.createdAt) + org.tfaGraceDays * DAY_MS;
}

/** Days left before a deadline, as a calendar counts them (UTC): 0 on its last day. */
export const daysLeft = (until: number, now: number): number =>
  Math.max(0, Math.floor(until / DAY_MS) - Math.floor(now / DAY_MS));

/**
 * What sign-in asks of a person once their password is right:
 * - `none`: nothing more (no method, none required);
 * - `grace`: no method yet, required, but the deadline is ahead: the person may set one up now or later;
 * - `enrol`: no method and it is required now: enrol before any session;
 * - `prove`: prove one of `kinds` (their allowed methods, and recovery codes as their backup);
 * - `switch`: every method they have is forbidden now: prove one of `kinds` (theirs, or a recovery
 *   code) to show it is them, then enrol an allowed method before any session.
 */
export type Demand =
  | { step: 'none' }
  | { step: 'grace'; until: number }
  | { step: 'enrol' }
  | { step: 'prove' | 'switch'; kinds: string[] };

export interface TfaRequirement {
  assess(account: UserWithOrganization, options: { mfaRequested: boolean }): Promise<Demand>;
  /**
   * The person cannot have a session before enrolling an allowed method (no grace left, or every
   * method forbidden): an authorization request with prompt=none answers interaction_required.
   */
  mustEnrol(account: UserWithOrganization): Promise<boolean>;
}

export function createTfaRequirement(deps: {
  factors: Pick<FactorStore, 'findFactors'>;
  registry: Pick<FactorRegistry, 'get' | 'all' | 'allowedFor'>;
  clock: Clock;
}): TfaRequirement {
  async function assess(
    { user, organization: org }: UserWithOrganization,
    { mfaRequested }: { mfaRequested: boolean },
  ): Promise<Demand> {
    // Records of a factor this deployment no longer has cannot be proven: they count as none.
    const records = (await deps.factors.findFactors(org.id, user.id)).filter(
      (f) => f.active && deps.registry.get(f.kind) !== undefined,
    );
    if (records.length === 0) {
      const required = org.enforceTfa || mfaRequested || phishingResistanceRequired(org, user.role);
      if (!required) return { step: 'none' };
      // The grace belongs to the organization's enforcement; a relying party that asks for MFA gets it.
      const until = org.enforceTfa && !mfaRequested ? enrolmentDeadline(org, user) : null;
      return until !== null && deps.clock.now() < until ? { step: 'grace', until } : { step: 'enrol' };
    }
    const allowed = deps.registry.allowedFor(org, user.role).map((f) => f.kind);
    if (records.some((r) => allowed.includes(r.kind))) return { step: 'prove', kinds: allowed };
    const backups = deps.registry
      .all()
      .filter((f) => f.enrolment === undefined)
      .map((f) => f.kind);
    return { step: 'switch', kinds: [...new Set([...records.map((r) => r.kind), ...backups])] };
  }
  return {
    assess,
    async mustEnrol(account) {
      const { step } = await assess(account, { mfaRequested: false });
      return step === 'enrol' || step === 'switch';
    },
  };
}
