import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';

import type { AccessCodes } from '../../../domain/access-codes.ts';
import type { Activity } from '../../../domain/activity.ts';
import type { EnrolmentGrace } from '../../../domain/enrolment-grace.ts';
import type { Invitations } from '../../../domain/invitations.ts';
import type { PasswordResets } from '../../../domain/password-resets.ts';
import type { People } from '../../../domain/people.ts';
import type { PersonStatus } from '../../../domain/person-status.ts';
import type { AuditEntry } from '../../../ports/stores.ts';
import { httpErrors } from '../../error-codes.ts';
import { readCursor } from '../activity-paging.ts';
import { readFilter } from './activity-filter.ts';
import { adminApiGuards, callerActor, callerOrg, type AdminApiDeps } from './admin-api.ts';

export interface AdminApiActionDeps extends Pick<
  AdminApiDeps,
  'provider' | 'accounts' | 'methods' | 'clock' | 'maxAgeSeconds' | 'mayUseAdminApi'
> {
  people: People;
  personStatus: PersonStatus;
  accessCodes: AccessCodes;
  enrolmentGrace: EnrolmentGrace;
  resets: Pick<PasswordResets, 'send'>;
  invitations: Pick<Invitations, 'invite'>;
  activity: Activity;
}

const roleBody = z.object({ role: z.enum(['member', 'admin']) }).strict();
const accessCodeBody = z.object({ lifetime_minutes: z.number().int().default(60) }).strict();
const deadlineBody = z.object({ date: z.string().max(10) }).strict();
const inviteBody = z
  .object({
    email: z.string().max(320),
    name: z.string().max(200).optional(),
    role: z.enum(['member', 'admin']).default('member'),
  })
  .strict();

/** A JSON body read by `schema`, or a 400 naming what it expects. */
function bodyOf<T>(ctx: Context, schema: z.ZodType<T>, example: string): T {
  const parsed = schema.safeParse(ctx.request.body ?? {});
  if (!parsed.success) throw httpErrors.raise('invalid_request', { message: `Send ${example}.` });
  return parsed.data;
}

const eventJson = (event: AuditEntry) => ({
  id: event.id,
  at: new Date(event.at).toISOString(),
  type: event.type,
  person: event.subject?.email ?? null,
  actor: event.actor,
  ip: event.ip,
  user_agent: event.userAgent,
  request_id: event.requestId,
  detail: event.detail,
});

/**
 * The rest of the console's operations on people as JSON (issue 9): disable and enable, roles,
 * temporary access codes, enrolment deadlines, reset links, invitations, and the audit trail.
 * Same rules as the console: the caller's organization only (404), administrators only (403),
 * a recent authentication for every change (RFC 9470), the last administrator kept.
 */
export function adminApiActionRoutes(deps: AdminApiActionDeps): Router {
  const router = new Router({ prefix: '/api/admin' });
  const { read, change } = adminApiGuards(deps);
  const personOf = (ctx: Context) => deps.people.find(callerOrg(ctx), String(ctx.params.id));
  /** The administrator, who must not lock themselves out. */
  const admin = (ctx: Context) => ({ ...callerActor(ctx), userId: String(ctx.state.caller.account.user.id) });

  router.post('/people/:id/disable', ...change, async (ctx) => {
    await deps.personStatus.disable(callerOrg(ctx), await personOf(ctx), admin(ctx));
    ctx.status = 204;
  });
  router.post('/people/:id/enable', ...change, async (ctx) => {
    await deps.personStatus.enable(callerOrg(ctx), await personOf(ctx), admin(ctx));
    ctx.status = 204;
  });
  router.put('/people/:id/role', ...change, async (ctx) => {
    const { role } = bodyOf(ctx, roleBody, '{"role": "member"} or {"role": "admin"}');
    await deps.personStatus.changeRole(callerOrg(ctx), await personOf(ctx), role, admin(ctx));
    ctx.status = 204;
  });

  router.post('/people/:id/access-code', ...change, async (ctx) => {
    const { lifetime_minutes: minutes } = bodyOf(ctx, accessCodeBody, '{"lifetime_minutes": 60}');
    const issued = await deps.accessCodes.issue(await personOf(ctx), { minutes, actor: callerActor(ctx).actor });
    ctx.status = 201;
    ctx.body = { code: issued.code, expires_at: new Date(issued.expiresAt).toISOString() };
  });
  router.delete('/people/:id/access-code', ...change, async (ctx) => {
    ctx.body = { revoked: await deps.accessCodes.revoke(await personOf(ctx), callerActor(ctx).actor) };
  });

  router.put('/people/:id/enrolment-deadline', ...change, async (ctx) => {
    const { date } = bodyOf(ctx, deadlineBody, '{"date": "YYYY-MM-DD"}');
    const until = await deps.enrolmentGrace.extend(callerOrg(ctx), String(ctx.params.id), date, callerActor(ctx));
    ctx.body = { deadline: new Date(until).toISOString() };
  });
  router.delete('/people/:id/enrolment-deadline', ...change, async (ctx) => {
    await deps.enrolmentGrace.end(callerOrg(ctx), String(ctx.params.id), callerActor(ctx));
    ctx.status = 204;
  });

  router.post('/people/:id/reset-link', ...change, async (ctx) => {
    await deps.resets.send(callerOrg(ctx), String(ctx.params.id), callerActor(ctx).actor);
    ctx.status = 202;
    ctx.body = { sent: true };
  });
  router.post('/invitations', ...change, async (ctx) => {
    const input = bodyOf(ctx, inviteBody, '{"email": "…", "name": "…", "role": "member"}');
    const user = await deps.invitations.invite(callerOrg(ctx), input, callerActor(ctx).actor);
    ctx.status = 201;
    ctx.body = { id: user.id, email: user.email };
  });

  router.get('/events', ...read, async (ctx) => {
    const form = readFilter(ctx.query);
    const problem = Object.entries(form.errors)[0];
    if (problem) throw httpErrors.raise('invalid_request', { message: `${problem[0]}: ${problem[1]}` });
    const page = await deps.activity.ofOrganization(callerOrg(ctx), form.filter, readCursor(ctx.query));
    ctx.body = {
      events: page.entries.map(eventJson),
      // ?before= this position asks for the next older page.
      older: page.older ? `${page.older.at}.${page.older.id}` : null,
    };
  });

  return router;
}
