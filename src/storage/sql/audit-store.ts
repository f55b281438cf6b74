import { sql, type ExpressionBuilder, type Selectable } from 'kysely';

import type { AuditEvent, AuditPosition, AuditStore } from '../../ports/stores.ts';
import { statementsOf } from './statements.ts';
import type { Database, Tables } from './tables.ts';

type Row = Selectable<Tables['audit_events']>;
type Events = ExpressionBuilder<Tables & { e: Tables['audit_events']; u: Tables['users'] }, 'e' | 'u'>;

const toEvent = (row: Row): AuditEvent => ({
  id: row.id,
  orgId: row.org_id,
  userId: row.user_id,
  type: row.type,
  at: Number(row.at),
  ip: row.ip,
  detail: JSON.parse(row.detail) as Record<string, unknown>,
  actor: row.actor,
  userAgent: row.user_agent,
  requestId: row.request_id,
});

/** LIKE with the pattern's own wildcards escaped: a "%" or "_" typed matches itself. */
const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);
const like = (pattern: string) => sql<string>`${pattern} escape '\\'`;

/** Exact types, and `prefix.*` for every type under a prefix. */
function typeIs(eb: Events, types: readonly string[]) {
  return eb.or(
    types.map((type) =>
      type.endsWith('.*') ? eb('e.type', 'like', like(`${escapeLike(type.slice(0, -1))}%`)) : eb('e.type', '=', type),
    ),
  );
}

/** Strictly beyond `position` in the order (at, id): older for '<', newer for '>'. */
function beyond(eb: Events, position: AuditPosition, op: '<' | '>') {
  return eb.or([eb('e.at', op, position.at), eb.and([eb('e.at', '=', position.at), eb('e.id', op, position.id)])]);
}

function personMatches(eb: Events, search: string) {
  const pattern = `%${escapeLike(search.trim().toLowerCase())}%`;
  return eb.or([
    eb(eb.fn('lower', ['u.email']), 'like', like(pattern)),
    eb(eb.fn('lower', ['u.name']), 'like', like(pattern)),
  ]);
}

export function createSqlAuditStore(db: Database): AuditStore {
  const statements = statementsOf(db);
  return {
    async insertAuditEvent(event) {
      // A statement (statements.ts): every sign-in writes one or two.
      await statements.run(
        `insert into audit_events (id, org_id, user_id, type, at, ip, detail, actor, user_agent, request_id)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          event.id,
          event.orgId,
          event.userId,
          event.type,
          event.at,
          event.ip,
          JSON.stringify(event.detail),
          event.actor,
          event.userAgent,
          event.requestId,
        ],
      );
    },
    async findLatestEventTimes(orgId, type, userId) {
      let query = db.selectFrom('audit_events').where('user_id', 'is not', null);
      if (userId !== undefined) query = query.where('user_id', '=', userId);
      const rows = await query
        .select(['user_id', (eb) => eb.fn.max('at').as('latest')])
        .where('org_id', '=', orgId)
        .where('type', '=', type)
        .groupBy('user_id')
        .execute();
      return new Map(rows.map((row) => [row.user_id!, Number(row.latest)]));
    },
    async listAuditEvents(orgId, userId, limit) {
      const rows = await db
        .selectFrom('audit_events')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('user_id', '=', userId)
        .orderBy('at', 'desc')
        .limit(limit)
        .execute();
      return rows.map(toEvent);
    },
    async findAuditEvents(query) {
      // Read backwards from `after` (oldest first) and turn the page round: newest first either way.
      const backwards = query.after !== undefined;
      const order = backwards ? 'asc' : 'desc';
      let select = db
        .selectFrom('audit_events as e')
        // The subject only inside the same organization: a person is never shown across organizations.
        .leftJoin('users as u', (join) => join.onRef('u.id', '=', 'e.user_id').onRef('u.org_id', '=', 'e.org_id'))
        .selectAll('e')
        .select(['u.email as subject_email', 'u.name as subject_name'])
        .where('e.org_id', '=', query.orgId);
      if (query.userId !== undefined) select = select.where('e.user_id', '=', query.userId);
      if (query.personSearch?.trim()) select = select.where((eb) => personMatches(eb, query.personSearch!));
      if (query.types?.length) select = select.where((eb) => typeIs(eb, query.types!));
      if (query.from !== undefined) select = select.where('e.at', '>=', query.from);
      if (query.to !== undefined) select = select.where('e.at', '<', query.to);
      if (query.before) select = select.where((eb) => beyond(eb, query.before!, '<'));
      if (query.after) select = select.where((eb) => beyond(eb, query.after!, '>'));
      const rows = await select.orderBy('e.at', order).orderBy('e.id', order).limit(query.limit).execute();
      const entries = rows.map((row) => ({
        ...toEvent(row),
        subject: row.subject_email === null ? null : { email: row.subject_email, name: row.subject_name },
      }));
      return backwards ? entries.reverse() : entries;
    },
  };
}
