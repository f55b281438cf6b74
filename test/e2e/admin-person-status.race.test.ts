import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Browser, createAccountDriver, type Member } from '../helpers/account-driver.ts';
import { skipReason } from '../helpers/backends.ts';
import { createTestClock } from '../helpers/clock.ts';
import { PASSWORD } from '../helpers/seed.ts';
import { startTestServer, type Backend, type TestServer } from '../helpers/server.ts';

const scaleOutSkip = skipReason('postgres') ?? skipReason('redis');

/**
 * Issue 9, last-administrator protection: two administrators demoting or disabling each other in
 * the console at the same moment must not leave the organization without one who can sign in.
 * Whichever request loses meets the locked check (refused with the reason), or arrives after the
 * winner's change and is turned away as a member or a signed-out person; never does it succeed too.
 * The store's lock itself is proven in person-status-store.contract.test.ts.
 */
describe.each<Backend>(['sqlite', 'postgres+redis'])(
  'two administrators acting on each other at once on %s',
  (backend) => {
    const skip = backend === 'postgres+redis' && scaleOutSkip !== null;
    const clock = createTestClock(Date.now() - 3_600_000);
    let server: TestServer;
    const driver = createAccountDriver({ server: () => server, clock });
    const { redirect, withFactors, signIn, post, page } = driver;
    let grace: Member;
    let alan: Member;

    async function adminOf(org: Member['seeded']['org'], email: string, name: string): Promise<Member> {
      const user = await server.app.services.accounts.createUser(org, {
        email,
        password: PASSWORD,
        role: 'admin',
        name,
      });
      return { seeded: { org, user, password: PASSWORD }, password: PASSWORD, secret: null, lastStep: 0 };
    }

    beforeAll(async () => {
      if (skip) return;
      server = await startTestServer(backend, { clock });
      const org = await server.app.services.organizations.createOrganization({ slug: 'acme', name: 'Acme Corp' });
      grace = await adminOf(org, 'grace@acme.example', 'Grace Hopper');
      alan = await adminOf(org, 'alan@acme.example', 'Alan Turing');
      await withFactors(grace);
      await withFactors(alan);
    });
    afterAll(async () => server?.close());

    const id = (m: Member) => m.seeded.user.id;
    const status = () => server.app.services.personStatus;
    const userOf = async (m: Member) => (await server.app.stores.users.findUserBySubject(id(m)))!.user;

    /** Both sign in afresh, then each posts the same change about the other at once; the browsers and answers. */
    async function race(action: 'role' | 'disable', form: Record<string, string>) {
      const browsers = [new Browser(), new Browser()] as const;
      await signIn(browsers[0], grace);
      await signIn(browsers[1], alan);
      const answers = await Promise.all([
        post(browsers[0], `/admin/people/${id(alan)}/${action}`, form),
        post(browsers[1], `/admin/people/${id(grace)}/${action}`, form),
      ]);
      return { browsers, outcomes: answers.map(redirect) };
    }

    it.skipIf(skip)('demoting each other leaves exactly one administrator, round after round', async () => {
      for (let round = 0; round < 3; round++) {
        const { browsers, outcomes } = await race('role', { role: 'member' });
        expect(outcomes.filter((o) => o.endsWith('?done=role'))).toHaveLength(1);
        expect(await status().countEnabledAdmins(grace.seeded.org)).toBe(1);
        const lost = outcomes.findIndex((o) => !o.endsWith('?done=role'));
        expect(outcomes[lost]).toMatch(/^(303 \/admin\/people\/[^?]+\?refused=last_admin-role|403 null)$/);
        // The loser was demoted meanwhile: the winner's own page says why the other change was refused.
        if (outcomes[lost]!.startsWith('303')) {
          expect(await page(browsers[1 - lost]!, outcomes[lost]!.slice(4))).toMatch(
            /The role was not changed: (Grace Hopper|Alan Turing) is the only administrator of Acme Corp who can sign in\./,
          );
        }
        const demoted = (await userOf(grace)).role === 'member' ? grace : alan;
        await status().changeRole(grace.seeded.org, driver.person(demoted), 'admin', { actor: 'cli' });
      }
    });

    it.skipIf(skip)(
      'disabling each other leaves exactly one administrator who can sign in, round after round',
      async () => {
        for (let round = 0; round < 3; round++) {
          const { outcomes } = await race('disable', {});
          expect(outcomes.filter((o) => o.endsWith('?done=disabled'))).toHaveLength(1);
          expect(await status().countEnabledAdmins(grace.seeded.org)).toBe(1);
          // The loser is refused by the check, or finds its own session already ended by the winner.
          expect(outcomes.find((o) => !o.endsWith('?done=disabled'))).toMatch(
            /^(303 \/admin\/people\/[^?]+\?refused=last_admin-disable|303 \/account\/login\?return_to=\S+|404 null)$/,
          );
          const disabled = (await userOf(grace)).disabledAt !== null ? grace : alan;
          await status().enable(grace.seeded.org, driver.person(disabled), { actor: 'cli' });
        }
      },
    );
  },
);
