import type { TwofoldApp } from '../../src/app.ts';
import type { Organization, User } from '../../src/ports/stores.ts';
import { factorDriver } from './factors.ts';
import { totpAt } from './totp.ts';

export const PASSWORD = 'correct horse battery staple';

export interface Seeded {
  org: Organization;
  user: User;
  password: string;
}

/** An organization with one member whose password is PASSWORD. */
export async function seedUser(
  app: TwofoldApp,
  options: { slug?: string; email?: string; name?: string; enforceTfa?: boolean; role?: User['role'] } = {},
): Promise<Seeded> {
  const slug = options.slug ?? 'acme';
  const org =
    (await app.stores.organizations.findOrganizationBySlug(slug)) ??
    (await app.services.organizations.createOrganization({ slug, name: 'Acme Corp', enforceTfa: options.enforceTfa }));
  const user = await app.services.accounts.createUser(org, {
    email: options.email ?? 'alice@example.com',
    name: options.name ?? 'Alice Example',
    password: PASSWORD,
    role: options.role,
  });
  return { org, user, password: PASSWORD };
}

/** A confidential web client using the code flow; returns its generated secret. */
export async function seedClient(
  app: TwofoldApp,
  options: {
    id?: string;
    redirectUri?: string;
    firstParty?: boolean;
    accountApi?: boolean;
    adminApi?: boolean;
    public?: boolean;
    postLogoutRedirectUri?: string;
  } = {},
): Promise<{ clientId: string; clientSecret: string | null; redirectUri: string }> {
  const redirectUri = options.redirectUri ?? 'https://rp.example/callback';
  const { record, secret } = await app.services.clients.registerClient({
    clientId: options.id ?? 'rp',
    name: 'Example App',
    redirectUris: [redirectUri],
    postLogoutRedirectUris: [options.postLogoutRedirectUri ?? 'https://rp.example/signed-out'],
    public: options.public ?? false,
    firstParty: options.firstParty ?? false,
    accountApi: options.accountApi ?? false,
    adminApi: options.adminApi ?? false,
  });
  return { clientId: record.clientId, clientSecret: secret, redirectUri };
}

/**
 * An active authenticator app for the person, confirmed with a code at the clock's time (and,
 * when asked, their ten recovery codes); returns its seed.
 */
export async function enrolTotp(
  app: TwofoldApp,
  seeded: Pick<Seeded, 'org' | 'user'>,
  nowMs: number,
  label = 'Phone',
  options: { recoveryCodes?: boolean } = {},
): Promise<{ secret: Buffer; factorId: string }> {
  const person = { orgId: seeded.org.id, userId: seeded.user.id, email: seeded.user.email };
  const factors = factorDriver(app);
  const { factorId, secret } = await factors.beginTotp(person, label);
  const confirmed = await factors.confirmTotp(person, factorId, totpAt(secret, nowMs / 1000));
  if (!confirmed.ok) throw new Error(`could not enrol an authenticator app: ${confirmed.message}`);
  if (options.recoveryCodes) await app.factors.recovery.regenerate(person);
  return { secret, factorId };
}
