import type { MethodChoice, Person } from '../factors/factor.ts';
import type { FactorRegistry } from '../factors/registry.ts';
import type { FactorRecord, FactorStore } from '../ports/factor-stores.ts';

/** A person's second-factor methods as the flows see them: records, choices and the preferred one. */
export interface Methods {
  /** Active records, oldest first (unfinished enrolments are not methods yet). */
  active(person: Person): Promise<FactorRecord[]>;
  hasAny(person: Pick<Person, 'orgId' | 'userId'>): Promise<boolean>;
  /**
   * What the second step offers among the `accepted` kinds (the organization's policy): the
   * preferred method first, then the person's other records, then factors without records
   * (recovery codes) while they are usable. `records` are the person's active records, as
   * `active` gave them to the flow earlier in this request.
   */
  choices(person: Person, accepted: readonly string[], records: FactorRecord[]): Promise<MethodChoice[]>;
}

export function createMethods(deps: { store: FactorStore; registry: FactorRegistry }): Methods {
  const { store, registry } = deps;
  const active = async (person: Person) =>
    (await store.findFactors(person.orgId, person.userId)).filter((f) => f.active);

  return {
    active,
    hasAny: (person) => store.hasActiveFactor(person.orgId, person.userId),
    async choices(person, accepted, active) {
      const records = active.filter((r) => accepted.includes(r.kind));
      const preferred = await store.findPreferredFactorId(person.orgId, person.userId);
      const ordered = [...records.filter((r) => r.id === preferred), ...records.filter((r) => r.id !== preferred)];
      const fromRecords = ordered.flatMap((record): MethodChoice[] => {
        const factor = registry.get(record.kind);
        return factor
          ? [{ id: record.id, kind: record.kind, label: record.label, detail: factor.describe(record) }]
          : [];
      });
      const offered = registry.all().filter((factor) => accepted.includes(factor.kind));
      const standalone = await Promise.all(offered.map((factor) => factor.available?.(person) ?? null));
      return [...fromRecords, ...standalone.filter((choice): choice is MethodChoice => choice !== null)];
    },
  };
}
