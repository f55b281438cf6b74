import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Agent } from '../helpers/agent.ts';
import { inProcessCli } from '../helpers/cli.ts';
import { createTestClock } from '../helpers/clock.ts';
import { oidcSessions } from '../helpers/oidc-session.ts';
import { discoverRp, type RelyingParty } from '../helpers/rp.ts';
import { enrolTotp, PASSWORD, seedClient, seedUser } from '../helpers/seed.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * `twofold user disable|enable` (DESIGN §4) on the data of a running server: the person's tokens
 * end at once, sign-in is refused until they are enabled, and the last administrator who can sign
 * in is never disabled.
 */
describe('twofold user disable and enable', () => {
  const clock = createTestClock();
  let server: TestServer;
  let rp: RelyingParty;
  let twofold: ReturnType<typeof inProcessCli>;
  const sessions = oidcSessions({ rp: () => rp, clock });

  beforeAll(async () => {
    server = await startTestServer('sqlite', { clock });
    twofold = inProcessCli(server.environment.config.dataDir);
    rp = await discoverRp(server.issuer, await seedClient(server.app));
  });
  afterAll(async () => server?.close());

  const userOf = async (email: string) => (await server.app.stores.users.findUserByEmail(email))!.user;

  it('disables a person while the server runs, ending their tokens at once, and enables them again', async () => {
    const seeded = await seedUser(server.app, { email: 'ada@example.com' });
    const { secret } = await enrolTotp(server.app, seeded, clock.now());
    const tokens = await sessions.signInWithTotp(new Agent(), seeded, secret);

    const disabled = await twofold(['user', 'disable', '--email', 'ADA@example.com', '--json']);
    expect([disabled.code, disabled.stderr]).toEqual([0, '']);
    expect(disabled.json()).toMatchObject({ email: 'ada@example.com', disabled: true, changed: true, sessions: 1 });
    expect(await sessions.isActive(tokens.access_token)).toBe(false);
    await expect(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    const refused = await sessions.submitPassword(seeded.user.email, PASSWORD);
    expect(await refused.response.text()).toContain('This account is disabled. Contact your administrator.');
    expect((await twofold(['user', 'disable', '--email', 'ada@example.com'])).stdout).toBe(
      'ada@example.com was already disabled\n',
    );
    const shown = await twofold(['user', 'show', '--email', 'ada@example.com', '--json']);
    expect(shown.json().disabledAt).toBe((await userOf('ada@example.com')).disabledAt);
    expect((await twofold(['user', 'show', '--email', 'ada@example.com'])).stdout).toMatch(
      /\naccount: disabled since \d{4}-\d\d-\d\dT/,
    );
    const events = (await server.app.services.people.describe(seeded.org, seeded.user.id)).events;
    expect(events.filter((e) => e.type === 'user.disabled').map((e) => e.actor)).toEqual(['cli']);

    const enabled = await twofold(['user', 'enable', '--email', 'ada@example.com', '--json']);
    expect(enabled.json()).toEqual({ email: 'ada@example.com', disabled: false, changed: true });
    expect((await twofold(['user', 'enable', '--email', 'ada@example.com'])).stdout).toBe(
      'ada@example.com was not disabled\n',
    );
    const again = await sessions.signInWithTotp(new Agent(), seeded, secret);
    expect(await sessions.isActive(again.access_token)).toBe(true);
  });

  it('refuses to disable the last administrator who can sign in, changing nothing', async () => {
    const org = (await server.app.stores.organizations.findOrganizationBySlug('acme'))!;
    const create = (email: string) =>
      server.app.services.accounts.createUser(org, { email, password: PASSWORD, role: 'admin' });
    await create('grace@example.com');
    const refused = await twofold(['user', 'disable', '--email', 'grace@example.com', '--json']);
    const reason =
      'grace@example.com is the only administrator of Acme Corp who can sign in. Make someone else an administrator first; nothing was changed.';
    expect(refused.code).toBe(1);
    expect(refused.json()).toEqual({ error: reason });
    expect(refused.stderr).toBe(`${reason}\n`);
    expect((await userOf('grace@example.com')).disabledAt).toBeNull();
    // With a second administrator, either can be disabled; then the other is the last one.
    await create('alan@example.com');
    expect((await twofold(['user', 'disable', '--email', 'grace@example.com'])).code).toBe(0);
    expect((await twofold(['user', 'disable', '--email', 'alan@example.com'])).code).toBe(1);
    expect((await userOf('alan@example.com')).disabledAt).toBeNull();
  });

  it('needs --email naming someone, and lists both commands in its help', async () => {
    const missing = await twofold(['user', 'disable']);
    expect([missing.code, missing.stderr]).toEqual([1, '--email is required\n']);
    const unknown = await twofold(['user', 'enable', '--email', 'nobody@example.com']);
    expect([unknown.code, unknown.stderr]).toEqual([1, 'there is no user with email nobody@example.com\n']);
    const help = (await twofold(['--help'])).stdout;
    expect(help).toContain('user disable --email <email>');
    expect(help).toContain('user enable --email <email>');
  });
});
