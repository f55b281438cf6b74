import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Agent, readForm } from '../helpers/agent.ts';
import { authorizationRequest, discoverRp, open, signIn, type RelyingParty } from '../helpers/rp.ts';
import { PASSWORD, seedClient, seedUser } from '../helpers/seed.ts';
import { createTestClock } from '../helpers/clock.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const DEVICE_COOKIE = 'twofold-device';

/**
 * Issue: five wrong passwords from anyone locked the owner out (429), renewable forever by anyone
 * who knows the email. A browser that signed in before holds a device cookie and has its own
 * budget (OWASP "Slow down online guessing attacks with device cookies"); strangers do not.
 */
describe('device cookies against password lockout by strangers', () => {
  let server: TestServer;
  let rp: RelyingParty;
  const clock = createTestClock();

  beforeAll(async () => {
    server = await startTestServer('sqlite', {
      clock,
      overrides: {
        throttle: {
          account: { freeAttempts: 5, windowSeconds: 900, maxDelaySeconds: 900 },
          ip: { freeAttempts: 500, windowSeconds: 900, maxDelaySeconds: 900 },
        },
      },
    });
    await seedUser(server.app);
    await seedUser(server.app, { email: 'bob@example.com', name: 'Bob' });
    rp = await discoverRp(server.issuer, await seedClient(server.app));
  });
  afterAll(async () => server?.close());

  /** A browser that signed in as `email` and then lost its session: only its device cookie is left. */
  async function returningBrowser(email: string): Promise<string> {
    const agent = new Agent();
    const callback = await signIn(agent, rp, await authorizationRequest(rp), email, PASSWORD);
    expect(callback.searchParams.get('code')).toBeTruthy();
    const cookie = agent.cookies.find((c) => c.name === DEVICE_COOKIE);
    expect(cookie?.path).toBe('/');
    return cookie!.value;
  }

  async function tryPassword(email: string, password: string, deviceCookie?: string): Promise<Response> {
    const agent = new Agent();
    if (deviceCookie) agent.cookies.push({ name: DEVICE_COOKIE, value: deviceCookie, path: '/' });
    const page = await open(agent, (await authorizationRequest(rp)).url, rp.redirectUri);
    const form = readForm(await page.response.text(), /\/login$/);
    return agent.request(new URL(form.action, page.url), { form: { _csrf: form.csrf, email, password } });
  }

  it('issues an HttpOnly, SameSite=Lax, long-lived device cookie on a successful sign-in', async () => {
    const agent = new Agent();
    const page = await open(agent, (await authorizationRequest(rp)).url, rp.redirectUri);
    const form = readForm(await page.response.text(), /\/login$/);
    const response = await agent.request(new URL(form.action, page.url), {
      form: { _csrf: form.csrf, email: 'alice@example.com', password: PASSWORD },
    });
    const line = response.headers.getSetCookie().find((c) => c.startsWith(`${DEVICE_COOKIE}=`));
    expect(line).toMatch(/httponly/i);
    expect(line).toMatch(/samesite=lax/i);
    const expires = new Date(/expires=([^;]+)/i.exec(line!)![1]!).getTime();
    expect(expires - Date.now()).toBeGreaterThan(300 * 86_400_000);
    expect(line).not.toContain('alice');
  });

  it('after five strangers fail, a browser that signed in before still signs in; strangers stay throttled', async () => {
    const device = await returningBrowser('alice@example.com');
    for (let i = 0; i < 5; i++) expect((await tryPassword('alice@example.com', `guess number ${i}!`)).status).toBe(401);
    expect((await tryPassword('alice@example.com', 'one more guess')).status).toBe(429);
    // A stranger, even with the right password, is counted against the account and waits.
    expect((await tryPassword('alice@example.com', PASSWORD)).status).toBe(429);
    // The owner's browser has a budget of its own.
    const owner = await tryPassword('alice@example.com', PASSWORD, device);
    expect(owner.status).toBe(303);
    expect(owner.headers.get('location')).not.toContain('/login');
  });

  it('a forged device cookie, or one for another account, gives nothing', async () => {
    const bobs = await returningBrowser('bob@example.com');
    for (let i = 0; i < 6; i++) await tryPassword('alice@example.com', `another guess ${i}!`);
    expect((await tryPassword('alice@example.com', PASSWORD, bobs)).status).toBe(429);
    const forged = bobs.replace(/[0-9a-f]{8}$/, '00000000');
    expect((await tryPassword('alice@example.com', PASSWORD, forged)).status).toBe(429);
    expect((await tryPassword('alice@example.com', PASSWORD, 'not-a-device-cookie')).status).toBe(429);
  });

  it("a device's own failures still count: after five, that device cookie is locked out too", async () => {
    const device = await returningBrowser('bob@example.com');
    for (let i = 0; i < 5; i++)
      expect((await tryPassword('bob@example.com', `wrong ${i} again!`, device)).status).toBe(401);
    expect((await tryPassword('bob@example.com', PASSWORD, device)).status).toBe(429);
    // ...but the account's budget was not touched by them: a stranger with the right password gets in.
    expect((await tryPassword('bob@example.com', PASSWORD)).status).toBe(303);
  });
});
