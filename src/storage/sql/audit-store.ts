import type { AuditStore } from '../../ports/stores.ts';
import type { Database } from './tables.ts';

export function createSqlAuditStore(db: Database): AuditStore {
  return {
    async insertAuditEvent(event) {
      await db
        .insertInto('audit_events')
        .values({
          id: event.id,
          org_id: event.orgId,
          user_id: event.userId,
          type: event.type,
          at: event.at,
          ip: event.ip,
          detail: JSON.stringify(event.detail),
          actor: event.actor,
          user_agent: event.userAgent,
          request_id: event.requestId,
        })
        .execute();
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
      return rows.map((row) => ({
        id: row.id,
        orgId: row.org_id,
        userId: row.user_id,
        type: row.type,
        at: row.at,
        ip: row.ip,
        detail: JSON.parse(row.detail) as Record<string, unknown>,
        actor: row.actor,
        userAgent: row.user_agent,
        requestId: row.request_id,
      }));
    },
  };
}
