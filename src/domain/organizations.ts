import { z } from 'zod';

import type { Clock } from '../ports/clock.ts';
import type { Random } from '../ports/random.ts';
import type { Transactions } from '../ports/transactions.ts';
import type { FactorRegistry } from '../factors/registry.ts';
import {
  PHISHING_RESISTANT_POLICIES,
  type AppPasswordPolicy,
  type Organization,
  type OrganizationStore,
} from '../ports/stores.ts';
import type { Audit } from './audit.ts';
import { domainErrors } from './error-codes.ts';
import { countrySchema } from './phone-numbers.ts';

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
 * (NIST SP 800-63B §3.1.1.2), AAL2 session lifetimes (§4.2.3: 12 hours, 30 minutes idle), and no
 * default country for phone numbers (international format unless a person picks one).
 */
export const ORGANIZATION_POLICY_DEFAULTS = {
  tfaGraceDays: 0,
  tfaEnforcedAt: null,
  allowedMethods: null,
  phishingResistant: 'none',
  passwordMaxAgeDays: null,
  sessionMaxHours: 12,
  sessionIdleMinutes: 30,
  logoUrl: null,
  defaultCountry: null,
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
  /** The country phone numbers are read in unless a person picks another (ISO 3166-1 alpha-2). */
  defaultCountry?: string | null;
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

/**
 * A logo address: https only (an http image could be altered on the way, and an https page would
 * block it as mixed content), no credentials in it, and a sane length.
 */
const logoUrlSchema = z
  .string()
  .trim()
  .max(2048, 'Use an address of at most 2048 characters.')
  .refine((value) => {
    const url = URL.parse(value);
    // A DNS name (or IPv4 address) as its host: the host also goes into the pages' CSP img-src.
    const dnsName = /^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(url?.hostname ?? '');
    return url?.protocol === 'https:' && dnsName && url.username === '' && url.password === '';
  }, 'Enter an address that starts with https://, such as https://example.com/logo.svg.');

/** Settings that must agree with each other once merged: idle time fits inside the session's length. */
function conflictsOf(org: Organization): Record<string, string> {
  const maxMinutes = org.sessionMaxHours * 60;
  return org.sessionIdleMinutes > maxMinutes
    ? { sessionIdleMinutes: `Use at most ${maxMinutes} minutes, the maximum session length.` }
    : {};
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
  tfaGraceDays: z.number().int().min(0, 'Use 0 to 90 days.').max(90, 'Use 0 to 90 days.').optional(),
  /** Factor kinds people may use; null allows every kind of the deployment (also ones added later). */
  allowedMethods: z.array(z.string().max(40)).max(40).nullable().optional(),
  phishingResistant: z.enum(PHISHING_RESISTANT_POLICIES).optional(),
  sessionMaxHours: z
    .number()
    .int()
    .min(1, 'Use 1 to 720 hours (30 days).')
    .max(720, 'Use 1 to 720 hours (30 days).')
    .optional(),
  sessionIdleMinutes: z
    .number()
    .int()
    .min(5, 'Use at least 5 minutes.')
    .max(720 * 60, 'Use at most the maximum session length.')
    .optional(),
  passwordMaxAgeDays: z
    .number()
    .int()
    .min(30, 'Use 30 to 3650 days, or leave it empty so that passwords never expire.')
    .max(3650, 'Use 30 to 3650 days, or leave it empty so that passwords never expire.')
    .nullable()
    .optional(),
  logoUrl: logoUrlSchema.nullable().optional(),
  /** Phone numbers in national format are read in this country unless people pick another; null: none. */
  defaultCountry: countrySchema.nullable().optional(),
});
export type PolicyChanges = z.input<typeof policyChangesSchema>;

export function createOrganizations(deps: {
  store: OrganizationStore;
  audit: Audit;
  clock: Clock;
  random: Random;
  transactions: Pick<Transactions, 'run'>;
  /** Decides which methods a policy leaves to each role (the registry is the one place that does). */
  methods: Pick<FactorRegistry, 'all' | 'enrollableFor'>;
}): Organizations {
  const prepareOrganization = (input: NewOrganizationInput): Organization => {
    const fields: Record<string, string> = {};
    const slug = slugSchema.safeParse(input.slug);
    if (!slug.success) fields.slug = slug.error.issues[0]!.message;
    const name = organizationNameSchema.safeParse(input.name ?? input.slug);
    if (!name.success) fields.name = name.error.issues[0]!.message;
    const country = countrySchema.nullable().safeParse(input.defaultCountry ?? null);
    if (!country.success) fields.defaultCountry = country.error.issues[0]!.message;
    if (!slug.success || !name.success || !country.success)
      throw domainErrors.raise('invalid_organization', { fields });
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
      defaultCountry: country.data,
      tfaEnforcedAt: input.enforceTfa ? deps.clock.now() : null,
      createdAt: deps.clock.now(),
    };
  };
  /**
   * What changed, from what to what: enforcement on its own event (the one administrators look for
   * first), every other setting together; nothing when the values stayed the same.
   */
  const DERIVED = new Set<keyof Organization>(['enforceTfa', 'tfaEnforcedAt']);
  async function recordPolicyChanges(before: Organization, after: Organization, by: PolicyChangedBy) {
    const who = { orgId: before.id, userId: by.userId, actor: by.actor ?? null, ip: by.ip };
    if (before.enforceTfa !== after.enforceTfa)
      await deps.audit.record({ ...who, type: after.enforceTfa ? 'org.tfa_enforced' : 'org.tfa_relaxed' });
    const changed = (Object.keys(after) as (keyof Organization)[]).filter(
      // When enforcement began follows from enforcement itself (its own events say so).
      (key) => !DERIVED.has(key) && JSON.stringify(before[key]) !== JSON.stringify(after[key]),
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
      const given = Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== undefined));
      const updated = withEnforcementStart(org, { ...org, ...given, ...methodsOf(deps.methods, given) }, deps.clock);
      const methodProblems = checkMethodPolicy(deps.methods, updated);
      if (methodProblems) throw domainErrors.raise('invalid_policy', { fields: methodProblems });
      const conflicts = conflictsOf(updated);
      if (Object.keys(conflicts).length > 0) throw domainErrors.raise('invalid_policy', { fields: conflicts });
      const changed = changedFields(org, updated, Object.keys(given));
      if (Object.keys(changed.to).length === 0) return org;
      // The policy and the events that say who changed it commit together, or neither does.
      await deps.transactions.run(async () => {
        await deps.store.updateOrganization(updated);
        await recordPolicyChanges(org, updated, by);
      });
      return updated;
    },
    async requireOrganization(slug) {
      const org = await deps.store.findOrganizationBySlug(slug);
      if (!org) throw domainErrors.raise('unknown_organization', { message: `There is no organization "${slug}".` });
      return org;
    },
  };
}

/**
 * Allowed kinds as stored: known enrollable kinds only, in the registry's order, each once; every
 * kind allowed is stored as null, so a factor this deployment adds later is allowed too.
 */
function methodsOf(
  methods: Pick<FactorRegistry, 'all'>,
  given: PolicyChanges,
): Pick<Organization, 'allowedMethods'> | {} {
  if (given.allowedMethods === undefined || given.allowedMethods === null) return {};
  const enrollable = methods
    .all()
    .filter((f) => f.enrolment !== undefined)
    .map((f) => f.kind);
  const kinds = enrollable.filter((kind) => given.allowedMethods!.includes(kind));
  const unknown = given.allowedMethods.filter((kind) => !enrollable.includes(kind));
  if (unknown.length > 0)
    throw domainErrors.raise('invalid_policy', {
      fields: { allowedMethods: `Unknown method: ${unknown.join(', ')}.` },
    });
  return { allowedMethods: kinds.length === enrollable.length ? null : kinds };
}

/**
 * Every role must keep at least one method it can enrol, or its people could never sign in again:
 * the allowed kinds alone, and then with the phishing-resistance requirement.
 */
function checkMethodPolicy(
  methods: Pick<FactorRegistry, 'all' | 'enrollableFor'>,
  org: Organization,
): Record<string, string> | null {
  const roles = ['member', 'admin'] as const;
  const anyKind = { ...org, phishingResistant: 'none' as const };
  if (roles.some((role) => methods.enrollableFor(anyKind, role).length === 0))
    return { allowedMethods: 'Allow at least one method that people can set up.' };
  if (roles.some((role) => methods.enrollableFor(org, role).length === 0)) {
    const resistant = methods
      .all()
      .filter((f) => f.enrolment !== undefined && f.phishingResistant)
      .map((f) => f.name.toLowerCase());
    return {
      phishingResistant: `None of the allowed methods resists phishing. Allow ${resistant.join(' or ') || 'one that does'}, or do not require it.`,
    };
  }
  return null;
}

/** Enforcement's start, from which the enrolment grace counts: set when it turns on, cleared when it turns off. */
function withEnforcementStart(before: Organization, after: Organization, clock: Clock): Organization {
  if (after.enforceTfa === before.enforceTfa) return after;
  return { ...after, tfaEnforcedAt: after.enforceTfa ? clock.now() : null };
}

/** The given fields whose value differs, with their old and new values. */
function changedFields(before: Organization, after: Organization, keys: string[]) {
  const from: Record<string, unknown> = {};
  const to: Record<string, unknown> = {};
  for (const key of keys as (keyof Organization)[]) {
    if (JSON.stringify(before[key]) === JSON.stringify(after[key])) continue;
    from[key] = before[key];
    to[key] = after[key];
  }
  return { from, to };
}
