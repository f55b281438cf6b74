import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Agent, readForm } from '../helpers/agent.ts';
import { enrolTotp, seedUser, type Seeded } from '../helpers/seed.ts';
import { skipReason } from '../helpers/backends.ts';
import { createTestClock } from '../helpers/clock.ts';
import { startTestServer, type Backend, type TestServer } from '../helpers/server.ts';
import { totpAt } from '../helpers/totp.ts';

type Page = { response: Response; url: URL };

/**
 * The account pages and step-up (OIDC max_age=300). The server's clock starts twenty minutes in
 * the past so that it can move forward past the window while oidc-provider, which checks max_age
 * against real time, still agrees the last sign-in is stale.
 */
const scaleOutSkip = skipReason('postgres') ?? skipReason('redis');

describe.each<Backend>(['sqlite', 'postgres+redis'])('account pages and step-up re-authentication on %s', (backend) => {
  const skip = backend === 'postgres+redis' && scaleOutSkip !== null;
  const clock = createTestClock(Date.now() - 1_200_000);
  let server: TestServer;
  let seeded: Seeded;
  let secret: Buffer;
  const agent = new Agent();

  const url = (path: string) => new URL(path, server.issuer);
  const get = async (path: string): Promise<Page> => agent.follow(await agent.request(url(path)), url(path));

  /** Signs in (or re-authenticates) through the provider pages: password, then the authenticator code. */
  async function authenticate(page: Page): Promise<Page> {
    let current = page;
    for (let step = 0; step < 4 && current.url.pathname.startsWith('/interaction/'); step++) {
      const html = await current.response.text();
      const login = /\/login"/.test(html);
      const form = readForm(html, login ? /\/login$/ : /\/verify\/[a-z]+$/);
      const factorId = /name="factorId" value="([^"]+)"/.exec(html)?.[1];
      const fields: Record<string, string> = login
        ? { email: seeded.user.email, password: seeded.password }
        : { factorId: factorId!, code: totpAt(secret, clock.now() / 1000) };
      const target = new URL(form.action, current.url);
      current = await agent.follow(await agent.request(target, { form: { _csrf: form.csrf, ...fields } }), target);
    }
    return current;
  }

  async function post(path: string, form: Record<string, string>, csrfFrom = '/account/two-factor'): Promise<Response> {
    const html = await (await get(csrfFrom)).response.text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(html)![1]!;
    return agent.request(url(path), { form: { _csrf: csrf, ...form } });
  }

  beforeAll(async () => {
    if (skip) return;
    server = await startTestServer(backend, { clock });
    seeded = await seedUser(server.app, { email: 'ada@example.com' });
    ({ secret } = await enrolTotp(server.app, seeded, clock.now(), 'Phone', { recoveryCodes: true }));
    clock.advance(30_000);
  });
  afterAll(async () => server?.close());

  it.skipIf(skip)('signs in through the provider as a first-party client and shows the security overview', async () => {
    const start = await get('/account');
    expect(start.url.pathname).toMatch(/^\/interaction\//);
    const landed = await authenticate(start);
    expect(landed.url.pathname).toBe('/account');
    const html = await landed.response.text();
    expect(html).toContain('Security of your account');
    expect(html).toContain('You turned it on.');
    expect(html).toContain('10 recovery codes left.');
    expect(html).not.toContain('Allow access');
  });

  it.skipIf(skip)('lets a change through without re-authentication inside the five minutes after sign-in', async () => {
    const response = await post('/account/two-factor/recovery-codes', {});
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/account/recovery-codes');
    const codes = await (await get('/account/recovery-codes')).response.text();
    expect([...codes.matchAll(/<li><code>/g)]).toHaveLength(10);
  });

  it.skipIf(skip)(
    'sends a stale change through max_age=300 with the second factor, then completes it without retyping',
    async () => {
      clock.advance(301_000);
      const before = (await server.app.factors.store.findFactors(seeded.org.id, seeded.user.id))[0]!;
      const response = await post('/account/two-factor/preferred', { factorId: before.id });
      expect(response.status).toBe(303);
      expect(response.headers.get('location')).toMatch(/^\/account\/login\?fresh=1&resume=/);
      const authorize = await agent.request(url(response.headers.get('location')!));
      const authUrl = new URL(authorize.headers.get('location')!);
      expect(authUrl.searchParams.get('max_age')).toBe('300');
      expect(authUrl.searchParams.get('client_id')).toBe('twofold-account');
      const page = await agent.follow(await agent.request(authUrl), authUrl);
      expect(page.url.pathname).toMatch(/^\/interaction\//);

      // Re-authentication demands the second factor of a person who has one.
      const afterPassword = await (async () => {
        const html = await page.response.text();
        const form = readForm(html, /\/login$/);
        const target = new URL(form.action, page.url);
        return agent.follow(
          await agent.request(target, {
            form: { _csrf: form.csrf, email: seeded.user.email, password: seeded.password },
          }),
          target,
        );
      })();
      expect(afterPassword.url.pathname).toMatch(/\/verify$/);
      const resumed = await authenticate(afterPassword);
      expect(resumed.url.pathname).toMatch(/^\/account\/resume\//);
      const form = readForm(await resumed.response.text(), /\/account\/two-factor\/preferred$/);
      const done = await agent.request(url(form.action), { form: { _csrf: form.csrf, factorId: before.id } });
      expect(done.status).toBe(303);
      expect(done.headers.get('location')).toBe('/account/two-factor?done=preferred');
      expect(await server.app.factors.store.findPreferredFactorId(seeded.org.id, seeded.user.id)).toBe(before.id);

      // A second change inside the new window needs nothing more.
      clock.advance(60_000);
      expect((await post('/account/two-factor/preferred', { factorId: before.id })).headers.get('location')).toBe(
        '/account/two-factor?done=preferred',
      );
      // After the window it needs re-authentication again.
      clock.advance(241_000);
      expect((await post('/account/two-factor/preferred', { factorId: before.id })).headers.get('location')).toMatch(
        /^\/account\/login\?fresh=1/,
      );
    },
  );
});
