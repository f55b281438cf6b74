import type { Clock } from '../ports/clock.ts';
import type { Random } from '../ports/random.ts';
import type { Organization, OrganizationStore, SetupStore, User } from '../ports/stores.ts';
import type { KeyedHash } from '../ports/keyed-hash.ts';
import type { Accounts } from './accounts.ts';
import type { Audit } from './audit.ts';
import { AppError } from './errors.ts';
import { DEFAULT_TRUSTED_BROWSER_DAYS, ORGANIZATION_POLICY_DEFAULTS, type Organizations } from './organizations.ts';
import { domainErrors } from './error-codes.ts';

export interface SetupInput {
  organizationName: string;
  slug: string;
  email: string;
  name: string;
  password: string;
}

/**
 * First run: while no organization exists, a one-time link creates the first organization and
 * its administrator. The link carries a 256-bit token stored only as a keyed hash; it dies when
 * used or after `linkTtlSeconds`.
 */
export interface Setup {
  /** A fresh setup link, or null when the deployment is already set up. */
  issueSetupLink(): Promise<string | null>;
  isLive(token: string): Promise<boolean>;
  complete(token: string, input: SetupInput): Promise<void>;
  /** True until the first organization exists (the home page says setup is pending). */
  isPending(): Promise<boolean>;
}

const PURPOSE = 'setup-token';

/** The answer to a setup link that is unknown, used or expired. */
export const setupLinkInvalid = () => domainErrors.raise('setup_link_invalid');

export function createSetup(deps: {
  setupStore: SetupStore;
  organizationStore: OrganizationStore;
  organizations: Organizations;
  accounts: Accounts;
  audit: Audit;
  keyedHash: KeyedHash;
  clock: Clock;
  random: Random;
  issuer: string;
  linkTtlSeconds: number;
}): Setup {
  const { setupStore, keyedHash, clock } = deps;
  const wellFormed = (token: string) => /^[A-Za-z0-9_-]{43}$/.test(token);

  /** Validates organization and administrator together, so the form shows every problem at once. */
  async function prepare(input: SetupInput) {
    const fields: Record<string, string> = {};
    const collect = (error: unknown, rename: Record<string, string> = {}) => {
      if (!(error instanceof AppError) || error.status !== 400) throw error;
      for (const [field, message] of Object.entries(error.fields)) fields[rename[field] ?? field] = message;
    };
    let organization: Organization | undefined;
    try {
      organization = deps.organizations.prepareOrganization({ slug: input.slug, name: input.organizationName });
    } catch (error) {
      collect(error, { name: 'organizationName' });
    }
    // Password rules need an organization; a new one has the defaults whatever its name.
    const rulesOf = organization ?? {
      id: '',
      slug: '',
      name: input.organizationName,
      enforceTfa: false,
      passwordMinLength: null,
      trustedBrowserDays: DEFAULT_TRUSTED_BROWSER_DAYS,
      appPasswords: 'tfa' as const,
      legacyPasswordAccess: false,
      ...ORGANIZATION_POLICY_DEFAULTS,
      createdAt: 0,
    };
    let prepared: { user: User; passwordHash: string } | undefined;
    try {
      prepared = await deps.accounts.prepareUser(rulesOf, {
        email: input.email,
        name: input.name,
        password: input.password,
        role: 'admin',
      });
    } catch (error) {
      collect(error);
    }
    if (!input.name.trim()) fields.name = 'Enter your name.';
    if (!organization || !prepared || fields.name) throw domainErrors.raise('invalid_setup', { fields });
    return { organization, admin: prepared.user, passwordHash: prepared.passwordHash };
  }

  return {
    isPending: async () => (await deps.organizationStore.countOrganizations()) === 0,
    async issueSetupLink() {
      if ((await deps.organizationStore.countOrganizations()) > 0) return null;
      const token = deps.random.token(32);
      await setupStore.insertSetupToken(keyedHash.digest(PURPOSE, token), clock.now() + deps.linkTtlSeconds * 1000);
      return `${deps.issuer}/setup?token=${token}`;
    },
    async isLive(token) {
      if (!wellFormed(token) || (await deps.organizationStore.countOrganizations()) > 0) return false;
      return setupStore.isLiveSetupToken(keyedHash.digest(PURPOSE, token), clock.now());
    },
    async complete(token, input) {
      const dead = setupLinkInvalid();
      if (!wellFormed(token)) throw dead;
      // Setup exists for an empty deployment only; once an organization exists, the link is dead.
      if ((await deps.organizationStore.countOrganizations()) > 0) throw dead;
      const { organization, admin, passwordHash } = await prepare(input);
      const done = await setupStore.consumeSetupToken(keyedHash.digest(PURPOSE, token), clock.now(), {
        organization,
        admin,
        passwordHash,
      });
      if (!done) throw dead;
      await deps.audit.record({ type: 'setup.completed', orgId: organization.id, userId: admin.id });
    },
  };
}
