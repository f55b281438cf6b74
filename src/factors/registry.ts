import type { FactorRecord } from '../ports/factor-stores.ts';
import type { Organization } from '../ports/stores.ts';
import type { Factor, FactorSummary } from './factor.ts';

/**
 * Every factor of this deployment by kind: a pure lookup, built once in app.ts. Flows ask it for
 * the factor a request names and loop over it for their pages; they never name a kind themselves.
 */
export interface FactorRegistry {
  get(kind: string): Factor | undefined;
  all(): Factor[];
  /** The factors a person of this organization may enrol, in the order the pages show them. */
  allowedFor(organization: Organization): Factor[];
  /** A record as the pages show it: its factor's name and what tells it apart, never a secret. */
  summarize(record: FactorRecord): FactorSummary;
}

export function createFactorRegistry(factors: Factor[]): FactorRegistry {
  const byKind = new Map(factors.map((factor) => [factor.kind, factor]));
  if (byKind.size !== factors.length) throw new Error('two factors share a kind');
  return {
    get: (kind) => byKind.get(kind),
    all: () => [...factors],
    // Every enrollable factor for now; the organization's method policy narrows this list.
    allowedFor: () => factors.filter((factor) => factor.enrolment !== undefined),
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
