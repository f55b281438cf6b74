import { z } from 'zod';

import type { Clock } from '../ports/clock.ts';
import type { FactorStore } from '../ports/factor-stores.ts';
import type { Organization, User, UserStore } from '../ports/stores.ts';
import type { Audit } from './audit.ts';
import { domainErrors } from './error-codes.ts';
import { DAY_MS, enrolmentDeadline } from './tfa-requirement.ts';

/** An administrator may move a deadline this far ahead at most (issue 9). */
export const MAX_GRACE_DAYS = 90;

/** Who changes a deadline: the administrator's email for the trail, and where they are. */
export interface GraceActor {
  actor: string;
  ip: string;
}

/**
 * One person's enrolment deadline in an organization that enforces TFA, changed by an
 * administrator only: people see it at sign-in but cannot move it. Anyone outside the
 * organization is not found.
 */
export interface EnrolmentGrace {
  /** Sets the deadline to the end (UTC) of `date` (YYYY-MM-DD): today at the earliest, 90 days ahead at most. */
  extend(org: Organization, userId: string, date: string, by: GraceActor): Promise<number>;
  /** Ends the grace now: the person sets up a method at their next sign-in. */
  end(org: Organization, userId: string, by: GraceActor): Promise<void>;
}

/** A calendar date (YYYY-MM-DD) as the end of that day in UTC; a day that does not exist (2031-02-30) is refused. */
const dateSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/)
  .transform((text) => ({ text, at: Date.parse(`${text}T23:59:59.999Z`) }))
  .refine(({ text, at }) => Number.isFinite(at) && new Date(at).toISOString().startsWith(text))
  .transform(({ at }) => at);

const dayOf = (at: number) => Math.floor(at / DAY_MS);

export function createEnrolmentGrace(deps: {
  users: Pick<UserStore, 'findUserBySubject' | 'updateTfaGraceUntil'>;
  factors: Pick<FactorStore, 'hasActiveFactor'>;
  audit: Audit;
  clock: Clock;
}): EnrolmentGrace {
  /** The person of the organization whose deadline may change: it enforces TFA and they have no method. */
  async function personWithoutMethod(org: Organization, userId: string): Promise<User> {
    const found = /^[0-9a-f-]{36}$/.test(userId) ? await deps.users.findUserBySubject(userId) : undefined;
    if (!found || found.organization.id !== org.id) throw domainErrors.raise('unknown_person');
    if (!found.organization.enforceTfa)
      throw domainErrors.raise('grace_not_applicable', {
        message: `${org.name} does not require two-step verification, so there is no deadline to change.`,
      });
    if (await deps.factors.hasActiveFactor(org.id, userId))
      throw domainErrors.raise('grace_not_applicable', {
        message: 'This person has set up two-step verification already.',
      });
    return found.user;
  }

  async function change(org: Organization, user: User, until: number, type: string, by: GraceActor) {
    const previous = enrolmentDeadline(org, user);
    await deps.users.updateTfaGraceUntil(org.id, user.id, until);
    await deps.audit.record({
      type,
      orgId: org.id,
      userId: user.id,
      ip: by.ip,
      actor: by.actor,
      detail: {
        until: new Date(until).toISOString(),
        previous: previous === null ? null : new Date(previous).toISOString(),
      },
    });
  }

  return {
    async extend(org, userId, date, by) {
      const user = await personWithoutMethod(org, userId);
      const parsed = dateSchema.safeParse(date);
      const today = dayOf(deps.clock.now());
      if (!parsed.success || dayOf(parsed.data) < today || dayOf(parsed.data) > today + MAX_GRACE_DAYS)
        throw domainErrors.raise('invalid_deadline', {
          fields: { until: `Choose a date from today to ${MAX_GRACE_DAYS} days from today.` },
        });
      await change(org, user, parsed.data, 'tfa.grace_extended', by);
      return parsed.data;
    },
    async end(org, userId, by) {
      const user = await personWithoutMethod(org, userId);
      await change(org, user, deps.clock.now(), 'tfa.grace_ended', by);
    },
  };
}
