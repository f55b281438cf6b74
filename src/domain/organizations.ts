import { z } from 'zod';

import type { Clock } from '../ports/clock.ts';
import type { Random } from '../ports/random.ts';
import type { AppPasswordPolicy, Organization, OrganizationStore } from '../ports/stores.ts';
import type { Audit } from './audit.ts';
import { domainErrors } from './error-codes.ts';

/** A slug names the organization in URLs and the CLI: lowercase letters, digits and inner hyphens. */
export const slugSchema = z
  .string()
  .trim()
  .min(2, 'Use at least 2 characters.')
  .max(63, 'Use at most 63 characters.')
  .regex(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/, 'Use lowercase letters, digits and hyphens (not at the start or end).');

export const organizationNameSchema = z.string().trim().min(1, 'Enter a name.').max(200, 'Use at most 200 characters.');

/** How long "trust this browser" lasts in a new organization unless it says otherwise. */
export const DEFAULT_TRUSTED_BROWSER_DAYS = 30;

/**
 * The rest of a new organization's policy: no enrolment grace, every method, no password expiry
 * (NIST SP 800-63B §3.1.1.2), and AAL2 session lifetimes (§4.2.3: 12 hours, 30 minutes idle).
 */
export const ORGANIZATION_POLICY_DEFAULTS = {
  tfaGraceDays: 0,
  allowedMethods: null,
  phishingResistant: 'none',
  passwordMaxAgeDays: null,
  sessionMaxHours: 12,
  sessionIdleMinutes: 30,
  logoUrl: null,
} as const satisfies Partial<Organization>;

export interface NewOrganizationInput {
  slug: string;
  name?: string;
  enforceTfa?: boolean;
  /** How long "trust this browser" lasts; 0 forbids it. */
  trustedBrowserDays?: number;
  /** Overrides the configured minimum password length for this organization. */
  passwordMinLength?: number;
  /** Who may create app passwords: people with TFA (the default), everyone, or no one. */
  appPasswords?: AppPasswordPolicy;
  /** Mail and calendar servers may check the account password of people without TFA. */
  legacyPasswordAccess?: boolean;
}

export interface Organizations {
  /** Validates and builds an organization record; nothing is stored. */
  prepareOrganization(input: NewOrganizationInput): Organization;
  createOrganization(input: NewOrganizationInput): Promise<Organization>;
  requireOrganization(slug: string): Promise<Organization>;
  findOrganizationById(id: string): Promise<Organization | undefined>;
  /**
   * Changes the organization's security policy (an administrator's step-up is the caller's
   * concern); records who changed what. Turning enforcement on makes everyone without a second
   * factor enrol at their next sign-in.
   */
  updatePolicy(org: Organization, changes: PolicyChanges, by: PolicyChangedBy): Promise<Organization>;
}

/** Who changed the policy: an administrator (their id), or an operator (`actor: "cli"`, no person). */
export interface PolicyChangedBy {
  userId: string | null;
  actor?: string;
  ip?: string;
}

export const policyChangesSchema = z.object({
  enforceTfa: z.boolean().optional(),
  trustedBrowserDays: z.number().int().min(0, 'Use 0 to 365 days.').max(365, 'Use 0 to 365 days.').optional(),
  passwordMinLength: z
    .number()
    .int()
    .min(8, 'Use 8 to 64 characters (NIST SP 800-63B asks at least 8).')
    .max(64, 'Use 8 to 64 characters (NIST SP 800-63B asks at least 8).')
    .nullable()
    .optional(),
});
export type PolicyChanges = z.input<typeof policyChangesSchema>;

export function createOrganizations(deps: {
  store: OrganizationStore;
  audit: Audit;
  clock: Clock;
  random: Random;
}): Organizations {
  const prepareOrganization = (input: NewOrganizationInput): Organization => {
    const fields: Record<string, string> = {};
    const slug = slugSchema.safeParse(input.slug);
    if (!slug.success) fields.slug = slug.error.issues[0]!.message;
    const name = organizationNameSchema.safeParse(input.name ?? input.slug);
    if (!name.success) fields.name = name.error.issues[0]!.message;
    if (!slug.success || !name.success) throw domainErrors.raise('invalid_organization', { fields });
    return {
      id: deps.random.uuid(),
      slug: slug.data,
      name: name.data,
      enforceTfa: input.enforceTfa ?? false,
      passwordMinLength: input.passwordMinLength ?? null,
      trustedBrowserDays: input.trustedBrowserDays ?? DEFAULT_TRUSTED_BROWSER_DAYS,
      appPasswords: input.appPasswords ?? 'tfa',
      legacyPasswordAccess: input.legacyPasswordAccess ?? false,
      ...ORGANIZATION_POLICY_DEFAULTS,
      createdAt: deps.clock.now(),
    };
  };
  /**
   * What changed, from what to what: enforcement on its own event (the one administrators look for
   * first), every other setting together; nothing when the values stayed the same.
   */
  async function recordPolicyChanges(before: Organization, after: Organization, by: PolicyChangedBy) {
    const who = { orgId: before.id, userId: by.userId, actor: by.actor ?? null, ip: by.ip };
    if (before.enforceTfa !== after.enforceTfa)
      await deps.audit.record({ ...who, type: after.enforceTfa ? 'org.tfa_enforced' : 'org.tfa_relaxed' });
    const changed = (Object.keys(after) as (keyof Organization)[]).filter(
      (key) => key !== 'enforceTfa' && JSON.stringify(before[key]) !== JSON.stringify(after[key]),
    );
    if (changed.length === 0) return;
    const changes = Object.fromEntries(changed.map((key) => [key, { from: before[key], to: after[key] }]));
    await deps.audit.record({ ...who, type: 'org.policy_changed', detail: { changes } });
  }

  return {
    prepareOrganization,
    async createOrganization(input) {
      const org = prepareOrganization(input);
      await deps.store.insertOrganization(org);
      return org;
    },
    findOrganizationById: (id) => deps.store.findOrganizationById(id),
    async updatePolicy(org, raw, by) {
      const parsed = policyChangesSchema.safeParse(raw);
      if (!parsed.success) {
        const fields = Object.fromEntries(parsed.error.issues.map((i) => [String(i.path[0]), i.message]));
        throw domainErrors.raise('invalid_policy', { fields });
      }
      const changes = Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== undefined));
      const updated: Organization = { ...org, ...changes };
      await deps.store.updateOrganization(updated);
      await recordPolicyChanges(org, updated, by);
      return updated;
    },
    async requireOrganization(slug) {
      const org = await deps.store.findOrganizationBySlug(slug);
      if (!org) throw domainErrors.raise('unknown_organization', { message: `There is no organization "${slug}".` });
      return org;
    },
  };
}
