import type { Person } from '../factors/factor.ts';
import type { AuditEntry, AuditPosition, AuditQuery, AuditStore, Organization, UserStore } from '../ports/stores.ts';
import type { Audit } from './audit.ts';

/** The kinds of event an administrator filters the trail by, in the order the console offers them. */
export const ACTIVITY_KINDS = [
  'signins',
  'failures',
  'two_step',
  'app_passwords',
  'passwords',
  'administration',
] as const;
export type ActivityKind = (typeof ACTIVITY_KINDS)[number];

/** The event types of each kind; `prefix.*` takes every type under a prefix, those added later too. */
export const KIND_TYPES: Record<ActivityKind, readonly string[]> = {
  signins: ['signin.succeeded', 'signin.password_ok', 'stepup.succeeded'],
  failures: [
    'signin.password_failed',
    'signin.second_factor_failed',
    'signin.throttled',
    'signin.code_replayed',
    'signin.refused_disabled',
  ],
  two_step: ['tfa.*', 'recovery_code.*', 'recovery_codes.*', 'trusted_browser.*'],
  app_passwords: ['app_password.*'],
  passwords: ['password.*'],
  administration: ['org.*', 'user.*', 'setup.*', 'audit.*', 'invitation.*', 'throttle.*', 'access_code.*'],
};

/** What an administrator narrows the trail to; every part is optional. */
export interface ActivityFilter {
  /** An email (that person exactly) or a piece of a name or email; '' for everyone. */
  person: string;
  kind: ActivityKind | null;
  /** Epoch milliseconds: from (inclusive), until (exclusive). */
  from: number | null;
  to: number | null;
}

/** Which page: the newest, the one older than a position, or the one newer than it. */
export type ActivityCursor = { before: AuditPosition } | { after: AuditPosition } | null;

export interface ActivityPage {
  entries: AuditEntry[];
  /** The positions to ask for the next older and newer pages from; null where there is none. */
  older: AuditPosition | null;
  newer: AuditPosition | null;
}

export type ExportFormat = 'csv' | 'jsonl';

/** The audit trail as administrators and people read it (issue 9): filtered, paged, exported. */
export interface Activity {
  /** One page of the organization's trail. */
  ofOrganization(org: Organization, filter: ActivityFilter, cursor: ActivityCursor): Promise<ActivityPage>;
  /** One page of a person's own events. */
  ofPerson(person: Person, cursor: ActivityCursor): Promise<ActivityPage>;
  /**
   * Records the export (who, what format, which filter), then reads the filtered trail newest
   * first, a page at a time, at most `exportLimit` events: the caller streams it out as it comes.
   */
  exportTrail(
    org: Organization,
    filter: ActivityFilter,
    by: { userId: string; format: ExportFormat },
  ): Promise<AsyncIterable<AuditEntry>>;
  readonly exportLimit: number;
}

const positionOf = (entry: AuditEntry | undefined): AuditPosition | null =>
  entry ? { at: entry.at, id: entry.id } : null;

export function createActivity(deps: {
  store: AuditStore;
  users: Pick<UserStore, 'findUserByEmail'>;
  audit: Audit;
  pageSize: number;
  exportLimit: number;
  /** Rows read per query while exporting. */
  exportPageSize: number;
}): Activity {
  const { store } = deps;

  /** A whole email names one person of the organization exactly; anything else is searched for. */
  async function personFilter(org: Organization, text: string): Promise<Partial<AuditQuery>> {
    const needle = text.trim();
    if (!needle) return {};
    const found = needle.includes('@') ? await deps.users.findUserByEmail(needle) : undefined;
    return found?.organization.id === org.id ? { userId: found.user.id } : { personSearch: needle };
  }

  async function queryOf(org: Organization, filter: ActivityFilter): Promise<Omit<AuditQuery, 'limit'>> {
    return {
      orgId: org.id,
      ...(await personFilter(org, filter.person)),
      ...(filter.kind ? { types: KIND_TYPES[filter.kind] } : {}),
      ...(filter.from !== null ? { from: filter.from } : {}),
      ...(filter.to !== null ? { to: filter.to } : {}),
    };
  }

  /** One more row than the page shows tells whether a further page exists in that direction. */
  async function pageOf(query: Omit<AuditQuery, 'limit'>, cursor: ActivityCursor): Promise<ActivityPage> {
    const limit = deps.pageSize;
    const found = await store.findAuditEvents({ ...query, ...cursor, limit: limit + 1 });
    if (cursor && 'after' in cursor) {
      const entries = found.slice(found.length > limit ? 1 : 0);
      return {
        entries,
        older: positionOf(entries.at(-1)),
        newer: found.length > limit ? positionOf(entries[0]) : null,
      };
    }
    const entries = found.slice(0, limit);
    return {
      entries,
      older: found.length > limit ? positionOf(entries.at(-1)) : null,
      newer: cursor ? positionOf(entries[0]) : null,
    };
  }

  async function* readAll(query: Omit<AuditQuery, 'limit'>): AsyncGenerator<AuditEntry> {
    let before: AuditPosition | undefined;
    for (let left = deps.exportLimit; left > 0;) {
      const limit = Math.min(deps.exportPageSize, left);
      const page = await store.findAuditEvents({ ...query, ...(before ? { before } : {}), limit });
      yield* page;
      if (page.length < limit) return;
      left -= page.length;
      before = positionOf(page.at(-1))!;
    }
  }

  return {
    exportLimit: deps.exportLimit,
    ofOrganization: async (org, filter, cursor) => pageOf(await queryOf(org, filter), cursor),
    ofPerson: (person, cursor) => pageOf({ orgId: person.orgId, userId: person.userId }, cursor),
    async exportTrail(org, filter, by) {
      const query = await queryOf(org, filter);
      const iso = (at: number | null) => (at === null ? null : new Date(at).toISOString());
      await deps.audit.record({
        type: 'audit.exported',
        orgId: org.id,
        userId: by.userId,
        detail: {
          format: by.format,
          person: filter.person || null,
          kind: filter.kind,
          from: iso(filter.from),
          to: iso(filter.to),
        },
      });
      return readAll(query);
    },
  };
}
