import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type Provider from 'oidc-provider';
import { z } from 'zod';

import type { AccountSecurity } from '../../../domain/account-security.ts';
import type { Accounts } from '../../../domain/accounts.ts';
import { AppError } from '../../../domain/errors.ts';
import type { Methods } from '../../../domain/methods.ts';
import { policyChangesSchema, type Organizations } from '../../../domain/organizations.ts';
import { TFA_STATUSES, type People, type PersonRow, type TfaStatus } from '../../../domain/people.ts';
import type { TfaReset } from '../../../domain/tfa-reset.ts';
import type { Clock } from '../../../ports/clock.ts';
import type { Organization } from '../../../ports/stores.ts';
import { httpErrors } from '../../error-codes.ts';
import { jsonBody } from '../../middleware/form-body.ts';
import { authenticateBearer, callerOf, requireFreshBearer } from '../bearer-api.ts';

export interface AdminApiDeps {
  provider: Provider;
  accounts: Pick<Accounts, 'findBySubject'>;
  people: People;
  organizations: Pick<Organizations, 'updatePolicy'>;
  tfaReset: TfaReset;
  security: Pick<AccountSecurity, 'disableTfa' | 'removeMethod'>;
  methods: Methods;
  clock: Clock;
  maxAgeSeconds: number;
  /** Only clients registered for it (`client add --admin-api`) may call the admin API. */
  mayUseAdminApi(clientId: string): Promise<boolean>;
}

const listQuery = z.object({
  q: z.string().max(200).default(''),
  status: z.enum(TFA_STATUSES as [TfaStatus, ...TfaStatus[]]).optional(),
  page: z.coerce.number().int().min(1).max(10_000).default(1),
});
const resetBody = z.object({ keep_app_passwords: z.boolean().default(false) }).strict();

/** The policy's settings by their JSON names (snake_case of the domain's), from one schema. */
const POLICY_KEYS = Object.keys(policyChangesSchema.shape) as (keyof Organization & string)[];
const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const camelOf = new Map(POLICY_KEYS.map((key) => [snake(key), key]));

const policyJson = (org: Organization) => ({
  slug: org.slug,
  name: org.name,
  ...Object.fromEntries(POLICY_KEYS.map((key) => [snake(key), org[key]])),
});

const personJson = (row: PersonRow) => ({
  id: row.id,
  email: row.email,
  name: row.name,
  role: row.role,
  tfa_status: row.tfa,
  methods: row.methods,
  last_sign_in_at: row.lastSignInAt === null ? null : new Date(row.lastSignInAt).toISOString(),
});

/** A JSON body of policy settings, named as GET shows them; an unknown name is refused, not ignored. */
function readPolicyChanges(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw httpErrors.raise('invalid_request', {
      message: 'Send a JSON object of settings, e.g. {"enforce_tfa": true}.',
    });
  }
  if (Object.keys(body).length === 0) {
    throw httpErrors.raise('invalid_request', { message: 'Send at least one setting, e.g. {"enforce_tfa": true}.' });
  }
  const unknown = Object.keys(body).filter((key) => !camelOf.has(key));
  if (unknown.length > 0) {
    const known = [...camelOf.keys()].join(', ');
    throw httpErrors.raise('invalid_request', { message: `Unknown setting ${unknown.join(', ')}; known: ${known}.` });
  }
  return Object.fromEntries(Object.entries(body).map(([key, value]) => [camelOf.get(key)!, value]));
}

/**
 * Who may call the admin API: `read` for an administrator's bearer token of a client registered
 * for it (members 403), `change` also for a JSON body and an authentication no older than max_age
 * (RFC 9470 challenge otherwise).
 */
export function adminApiGuards(
  deps: Pick<AdminApiDeps, 'provider' | 'accounts' | 'methods' | 'clock' | 'maxAgeSeconds' | 'mayUseAdminApi'>,
): { read: Middleware[]; change: Middleware[] } {
  const requireAdminCaller: Middleware = async (ctx, next) => {
    if (callerOf(ctx).account.user.role !== 'admin') throw httpErrors.raise('not_admin_api');
    ctx.set('cache-control', 'no-store');
    await next();
  };
  const read = [authenticateBearer({ ...deps, mayUse: deps.mayUseAdminApi }), requireAdminCaller];
  return { read, change: [jsonBody(), ...read, requireFreshBearer(deps)] };
}

/** The organization the calling administrator acts in, and who they are for the audit trail. */
export const callerOrg = (ctx: Context) => callerOf(ctx).account.organization;
export const callerActor = (ctx: Context) => ({ actor: callerOf(ctx).account.user.email, ip: ctx.ip });

/**
 * The admin console's operations as JSON for an organization's own tools, with bearer tokens of
 * clients registered for it. The caller must be an administrator (403 otherwise) and acts only in
 * their organization (another's people are 404). Changes need an authentication no older than
 * max_age: a stale token gets the RFC 9470 challenge, as on the account API.
 */
export function adminApiRoutes(deps: AdminApiDeps): Router {
  const router = new Router({ prefix: '/api/admin' });
  const { read, change } = adminApiGuards(deps);
  const orgOf = callerOrg;
  const by = callerActor;

  router.get('/people', ...read, async (ctx) => {
    const query = listQuery.safeParse(ctx.query);
    if (!query.success) throw httpErrors.raise('invalid_request', { message: query.error.issues[0]!.message });
    const { q, status, page } = query.data;
    const listed = await deps.people.list(orgOf(ctx), { search: q, status: status ?? null, page });
    ctx.body = { people: listed.rows.map(personJson), total: listed.total, page: listed.page, pages: listed.pages };
  });

  router.get('/people/:id', ...read, async (ctx) => {
    const detail = await deps.people.describe(orgOf(ctx), String(ctx.params.id));
    ctx.body = {
      ...personJson(detail),
      method_details: detail.methodDetails.map((m) => ({ id: m.id, kind: m.kind, label: m.label })),
      app_passwords: detail.appPasswords.map((p) => ({ id: p.id, name: p.name, scopes: p.scopes })),
    };
  });

  router.post('/people/:id/tfa/reset', ...change, async (ctx) => {
    const body = resetBody.safeParse(ctx.request.body ?? {});
    if (!body.success) throw httpErrors.raise('invalid_request', { message: 'Send {"keep_app_passwords": false}.' });
    const person = await deps.people.find(orgOf(ctx), String(ctx.params.id));
    const removed = await deps.tfaReset.resetTfa(person, by(ctx), { keepAppPasswords: body.data.keep_app_passwords });
    ctx.body = { removed_methods: removed };
  });

  router.post('/people/:id/tfa/disable', ...change, async (ctx) => {
    const person = await deps.people.find(orgOf(ctx), String(ctx.params.id));
    await deps.security.disableTfa(person, orgOf(ctx), ctx.ip);
    ctx.status = 204;
  });

  router.delete('/people/:id/methods/:methodId', ...change, async (ctx) => {
    const person = await deps.people.find(orgOf(ctx), String(ctx.params.id));
    const methodId = String(ctx.params.methodId).slice(0, 64);
    await deps.security.removeMethod(person, orgOf(ctx), methodId, ctx.ip, by(ctx).actor);
    ctx.status = 204;
  });

  router.get('/organization', ...read, (ctx) => {
    ctx.body = policyJson(orgOf(ctx));
  });

  router.patch('/organization', ...change, async (ctx) => {
    const caller = callerOf(ctx).account;
    const changes = readPolicyChanges(ctx.request.body);
    try {
      const updated = await deps.organizations.updatePolicy(caller.organization, changes, {
        userId: caller.user.id,
        ip: ctx.ip,
      });
      ctx.body = policyJson(updated);
    } catch (error) {
      if (!(error instanceof AppError) || Object.keys(error.fields).length === 0) throw error;
      // The page shows each problem next to its field; here they are named as the request named them.
      const problems = Object.entries(error.fields).map(([key, message]) => `${snake(key)}: ${message}`);
      throw httpErrors.raise('invalid_request', { message: problems.join(' ') });
    }
  });

  return router;
}
