import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Agent, readForm } from '../helpers/agent.ts';
import { authorizationRequest, discoverRp, open, signIn, type RelyingParty } from '../helpers/rp.ts';
import { PASSWORD, seedClient, seedUser, type Seeded } from '../helpers/seed.ts';
import { createTestClock } from '../helpers/clock.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** The sign-in and setup pages under bad input: clear 4xx pages, nothing written, never a 500. */
describe('sign-in page', () => {
  let server: TestServer;
  let seeded: Seeded;
  let rp: RelyingParty;
  const clock = createTestClock();

  beforeAll(async () => {
    server = await startTestServer('sqlite', {
      clock,
      overrides: {
        throttle: {
          account: { freeAttempts: 3, windowSeconds: 900, maxDelaySeconds: 900 },
          ip: { freeAttempts: 50, windowSeconds: 900, maxDelaySeconds: 900 },
        },
      },
    });
    seeded = await seedUser(server.app);
    rp = await discoverRp(server.issuer, await seedClient(server.app));
  });
  afterAll(async () => server?.close());

  async function loginPage(agent = new Agent()) {
    const request = await authorizationRequest(rp, { login_hint: 'alice@example.com' });
    const page = await open(agent, request.url, rp.redirectUri);
    const html = await page.response.text();
    const form = readForm(html, /\/login$/);
    return { agent, html, url: new URL(form.action, page.url), csrf: form.csrf };
  }

  it('renders an accessible form: labels, autocomplete, the login_hint prefilled, and strict headers', async () => {
    const agent = new Agent();
    const request = await authorizationRequest(rp, { login_hint: 'alice@example.com' });
    const page = await open(agent, request.url, rp.redirectUri);
    const html = await page.response.text();
    expect(html).toContain('<label for="email">Email</label>');
    expect(html).toContain('<label for="password">Password</label>');
    expect(html).toContain('autocomplete="current-password"');
    expect(html).toContain('value="alice@example.com"');
    expect(html).toContain('Example App');
    expect(page.response.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.response.headers.get('x-frame-options')).toBe('DENY');
    expect(page.response.headers.get('cache-control')).toBe('no-store');
  });

  it('a step-up sign-in (prompt=login, max_age) says why, shows the email as text and never asks for it', async () => {
    await seedUser(server.app, { email: 'carol@example.com', name: 'Carol' });
    const agent = new Agent();
    await signIn(agent, rp, await authorizationRequest(rp), 'carol@example.com', PASSWORD);
    for (const extra of [{ prompt: 'login' }, { max_age: '0' }] as Record<string, string>[]) {
      const page = await open(agent, (await authorizationRequest(rp, extra)).url, rp.redirectUri);
      const html = await page.response.text();
      expect(html).toContain("Confirm it's you to continue to <strong>Example App</strong>");
      expect(html).toContain('<strong>carol@example.com</strong>');
      expect(html).toContain('type="hidden" name="email" value="carol@example.com"');
      expect(html).not.toContain('<label for="email">');
      // The form's email is ignored: the session's account is the one signed in again.
      const form = readForm(html, /\/login$/);
      const wrong = await agent.request(new URL(form.action, page.url), {
        form: { _csrf: form.csrf, email: 'alice@example.com', password: 'not the right password at all' },
      });
      expect(wrong.status).toBe(401);
      const again = await wrong.text();
      expect(again).toContain('type="hidden" name="email" value="carol@example.com"');
      const done = await agent.request(new URL(form.action, page.url), {
        form: { _csrf: form.csrf, email: 'alice@example.com', password: PASSWORD },
      });
      const callback = await agent.follow(done, new URL(form.action, page.url), (next) =>
        next.href.startsWith(rp.redirectUri),
      );
      expect(callback.url.searchParams.get('code')).toBeTruthy();
    }
  });

  it('gives an unknown email and a wrong password the same answer', async () => {
    const { agent, url, csrf } = await loginPage();
    const wrong = await agent.request(url, {
      form: { _csrf: csrf, email: 'alice@example.com', password: 'not the right password at all' },
    });
    const unknown = await agent.request(url, {
      form: { _csrf: csrf, email: 'nobody@example.com', password: 'not the right password at all' },
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const strip = (html: string) => html.replace(/value="[^"]*"/g, '');
    expect(strip(await wrong.text())).toBe(strip(await unknown.text()));
  });

  it('shows field errors for empty and oversized input without hashing or signing in', async () => {
    const { agent, url, csrf } = await loginPage();
    const empty = await agent.request(url, { form: { _csrf: csrf, email: '', password: '' } });
    expect(empty.status).toBe(400);
    const html = await empty.text();
    expect(html).toContain('Enter your email address.');
    expect(html).toContain('Enter your password.');
    expect(html).toContain('aria-invalid="true"');

    const huge = await agent.request(url, {
      form: { _csrf: csrf, email: 'alice@example.com', password: 'x'.repeat(5000) },
    });
    expect(huge.status).toBe(400);
    expect(await huge.text()).toContain('That password is too long.');

    const missing = await agent.request(url, { form: { _csrf: csrf } });
    expect(missing.status).toBe(400);

    const tooBig = await agent.request(url, {
      form: { _csrf: csrf, email: 'a', password: 'b', filler: 'x'.repeat(64 * 1024) },
    });
    expect(tooBig.status).toBe(413);
  });

  it('slows an attacker down per account with growing delays, then lets the owner in once the delay passes', async () => {
    await seedUser(server.app, { email: 'target@example.com' });
    const { agent, url, csrf } = await loginPage();
    const attempt = (password: string) =>
      agent.request(url, { form: { _csrf: csrf, email: 'target@example.com', password } });
    for (let i = 0; i < 3; i++) expect((await attempt('wrong password number ' + i)).status).toBe(401);
    const blocked = await attempt(seeded.password);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await blocked.text()).toMatch(
      /Too many failed attempts\. Your password was not checked: wait \d+ seconds?, then enter it again\./,
    );

    clock.advance(Number(blocked.headers.get('retry-after')) * 1000);
    const owner = await attempt(seeded.password);
    expect(owner.status).toBe(303);
    expect(owner.headers.get('location')).toMatch(/\/auth\//);
  });

  it("refuses a form posted without this browser's CSRF cookie", async () => {
    const { url, csrf } = await loginPage();
    const stranger = new Agent();
    const response = await stranger.request(url, {
      form: { _csrf: csrf, email: 'alice@example.com', password: seeded.password },
    });
    expect(response.status).toBe(403);
    expect(await response.text()).toContain('This form has expired');
  });
});

describe('first-run setup page', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer('sqlite');
  });
  afterAll(async () => server?.close());

  async function formFor(link: string) {
    const agent = new Agent();
    const response = await agent.request(link);
    expect(response.status).toBe(200);
    const html = await response.text();
    const form = readForm(html, /\/setup$/);
    return { agent, csrf: form.csrf, token: new URL(link).searchParams.get('token')! };
  }

  it('prints a setup link at start while no organization exists', () => {
    expect(server.setupLink).toMatch(/\/setup\?token=[A-Za-z0-9_-]{43}$/);
  });

  it('refuses missing, malformed and unknown tokens with a 410 page', async () => {
    for (const query of ['', '?token=', '?token=abc', `?token=${'A'.repeat(43)}`, '?token[]=x']) {
      const response = await new Agent().request(`${server.issuer}/setup${query}`);
      expect(response.status).toBe(410);
      expect(await response.text()).toContain('twofold setup-link');
    }
  });

  it('shows every field problem at once and creates nothing', async () => {
    const { agent, csrf, token } = await formFor(server.setupLink!);
    const response = await agent.request(`${server.issuer}/setup`, {
      form: {
        _csrf: csrf,
        token,
        organizationName: '',
        slug: 'Bad Slug!',
        name: 'Ada',
        email: 'not-an-email',
        password: 'short',
      },
    });
    expect(response.status).toBe(400);
    const html = await response.text();
    expect(html).toContain('Use lowercase letters, digits and hyphens');
    expect(html).toContain('Enter an email address like name@example.com.');
    expect(html).toContain('Use at least 15 characters');
    expect(await server.app.stores.organizations.countOrganizations()).toBe(0);
  });

  it('refuses a common password with the reason', async () => {
    const { agent, csrf, token } = await formFor(server.setupLink!);
    const response = await agent.request(`${server.issuer}/setup`, {
      form: {
        _csrf: csrf,
        token,
        organizationName: 'Acme',
        slug: 'acme',
        name: 'Ada',
        email: 'ada@acme.example',
        password: 'passwordpassword',
      },
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('commonly used or leaked');
  });

  it('creates the organization and its administrator once, then the link is dead', async () => {
    const { agent, csrf, token } = await formFor(server.setupLink!);
    const response = await agent.request(`${server.issuer}/setup`, {
      form: {
        _csrf: csrf,
        token,
        organizationName: 'Acme Corp',
        slug: 'acme',
        name: 'Ada Admin',
        email: 'Ada@Acme.example',
        password: 'violet tractor harbour lemon',
      },
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('Twofold is ready');
    const admin = await server.app.stores.users.findUserByEmail('ada@acme.example');
    expect(admin?.user.role).toBe('admin');
    expect(admin?.organization.slug).toBe('acme');

    const again = await agent.request(`${server.issuer}/setup`, {
      form: {
        _csrf: csrf,
        token,
        organizationName: 'Other',
        slug: 'other',
        name: 'Eve',
        email: 'eve@example.com',
        password: 'violet tractor harbour lemon',
      },
    });
    expect(again.status).toBe(410);
    expect((await agent.request(server.setupLink!)).status).toBe(410);
    expect(await server.app.stores.organizations.countOrganizations()).toBe(1);
    expect(await server.app.services.setup.issueSetupLink()).toBeNull();
  });

  it('answers /healthz and /readyz', async () => {
    const health = await fetch(`${server.issuer}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${server.issuer}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { database: 'ok' } });
  });
});
