import type { FactorRecord } from '../ports/factor-stores.ts';
import type { Organization, Role } from '../ports/stores.ts';
import type { Factor, FactorSummary } from './factor.ts';

/**
 * Every factor of this deployment by kind: a pure lookup, built once in app.ts. Flows ask it for
 * the factor a request names and loop over it for their pages; they never name a kind themselves.
 */
export interface FactorRegistry {
  get(kind: string): Factor | undefined;
  all(): Factor[];
  /**
   * The one place the organization's method policy is decided: the factors a person of this role
   * may use, in the order the pages show them. A factor a person enrols is allowed when the
   * organization has not forbidden its kind; a backup that comes with them (recovery codes) is not
   * a method of its own, so it is never forbidden by kind. Where phishing-resistant methods are
   * required of this role, only those remain (recovery codes too are typed, so they go).
   */
  allowedFor(organization: Organization, role: Role): Factor[];
  /** Of those, the ones a person can enrol, for the lists of methods to add. */
  enrollableFor(organization: Organization, role: Role): Factor[];
  /** A record as the pages show it: its factor's name and what tells it apart, never a secret. */
  summarize(record: FactorRecord): FactorSummary;
}

/** The organization requires phishing-resistant methods of people with this role. */
export const phishingResistanceRequired = (organization: Organization, role: Role): boolean =>
  organization.phishingResistant === 'everyone' || (organization.phishingResistant === 'admins' && role === 'admin');

export function createFactorRegistry(factors: Factor[]): FactorRegistry {
  const byKind = new Map(factors.map((factor) => [factor.kind, factor]));
  if (byKind.size !== factors.length) throw new Error('two factors share a kind');
  const allowedFor = (organization: Organization, role: Role) => {
    const kinds = organization.allowedMethods;
    const resistant = phishingResistanceRequired(organization, role);
    return factors.filter(
      (factor) =>
        (factor.enrolment === undefined || kinds === null || kinds.includes(factor.kind)) &&
        // A bootstrap (a temporary access code) only opens enrolment, so it is no way round the requirement.
        (!resistant || factor.phishingResistant || factor.bootstrap === true),
    );
  };
  return {
    get: (kind) => byKind.get(kind),
    all: () => [...factors],
    allowedFor,
    enrollableFor: (organization, role) =>
      allowedFor(organization, role).filter((factor) => factor.enrolment !== undefined),
    summarize(record) {
      const factor = byKind.get(record.kind);
      return {
        id: record.id,
        kind: record.kind,
        label: record.label,
        kindName: factor?.name ?? record.kind,
        detail: factor?.describe(record) ?? null,
        createdAt: record.createdAt,
        lastUsedAt: record.lastUsedAt,
      };
    },
  };
}
