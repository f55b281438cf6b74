import { randomUUID } from 'node:crypto';

import type { TwofoldApp } from '../../src/app.ts';
import { enrolTotp, PASSWORD, seedClient, seedUser } from '../../test/helpers/seed.ts';

/** A person the load generator signs in: password PASSWORD and an authenticator app. */
export interface BenchPerson {
  email: string;
  secret: Buffer;
  /** The last TOTP step the server accepted for this person (each step is single-use). */
  lastStep: number;
}

export interface SeededPeople {
  password: string;
  people: BenchPerson[];
  rp: { clientId: string; clientSecret: string; redirectUri: string };
  /** A mail server (password grant + introspection) and a service (client_credentials). */
  mail: { clientId: string; secret: string };
  service: { clientId: string; secret: string };
  appPassword: { username: string; password: string };
  sessions: number;
}

const REDIRECT_URI = 'https://rp.example/callback';

/**
 * Seeds through the app's own services and stores, as the CLI and the pages would: the first
 * person is created by the accounts service (policy, argon2id hash); the others reuse that hash
 * (the same password) through the user store, so that thousands of people do not cost thousands
 * of hashes before the run. Each gets a confirmed authenticator app through the TOTP factor.
 * Sessions are saved through oidc-provider's Session model and so the real adapter.
 */
export async function seedDeployment(
  app: TwofoldApp,
  options: { people: number; sessions: number },
): Promise<SeededPeople> {
  const first = await seedUser(app, { email: 'bench-0@example.com' });
  const stored = await app.stores.users.findUserByEmail(first.user.email);
  const now = Date.now();
  const people: BenchPerson[] = [];
  const users = [first.user];
  for (let i = 1; i < options.people; i++) {
    const user = { ...first.user, id: randomUUID(), email: `bench-${i}@example.com`, name: `Bench ${i}` };
    await app.stores.users.insertUser(user, stored!.passwordHash);
    users.push(user);
  }
  // One authenticator app enrolled through the TOTP factor (sealed seed, first code); the others get
  // a copy of that record through the factor store: the same seed, but each its own last step.
  const { factorId, secret } = await enrolTotp(app, first, now);
  const template = (await app.factors.store.findFactors(first.org.id, first.user.id)).find((f) => f.id === factorId)!;
  for (const user of users.slice(1))
    await app.factors.store.insertFactor({ ...template, id: randomUUID(), userId: user.id });
  const step = Math.floor(now / 30_000);
  for (const user of users) people.push({ email: user.email, secret, lastStep: step });

  const rp = await seedClient(app, { id: 'bench-rp', redirectUri: REDIRECT_URI, firstParty: true });
  const mail = await app.services.clients.registerClient({
    clientId: 'bench-mail',
    grants: ['password'],
    authMethod: 'client_secret_post',
    introspection: true,
  });
  const service = await app.services.clients.registerClient({
    clientId: 'bench-service',
    grants: ['client_credentials'],
    authMethod: 'client_secret_post',
  });
  const { password } = await app.services.appPasswords.create(
    { orgId: first.org.id, userId: first.user.id, email: first.user.email },
    first.org,
    true,
    { name: 'bench', scopes: ['imap'] },
    '127.0.0.1',
  );

  for (let i = 0; i < options.sessions; i += 100) {
    const count = Math.min(100, options.sessions - i);
    await Promise.all(
      Array.from({ length: count }, (_, j) => {
        const user = users[(i + j) % users.length]!;
        // oidc-provider's constructor takes the payload; @types/oidc-provider declares none.
        const Session = app.provider.Session as unknown as new (payload: object) => {
          save(ttl: number): Promise<void>;
        };
        const session = new Session({ accountId: user.id, loginTs: Math.floor(now / 1000), amr: ['pwd', 'otp'] });
        return session.save(12 * 3600);
      }),
    );
  }
  return {
    password: PASSWORD,
    people,
    rp: { clientId: rp.clientId, clientSecret: rp.clientSecret!, redirectUri: rp.redirectUri },
    mail: { clientId: 'bench-mail', secret: mail.secret! },
    service: { clientId: 'bench-service', secret: service.secret! },
    appPassword: { username: first.user.email, password },
    sessions: options.sessions,
  };
}
