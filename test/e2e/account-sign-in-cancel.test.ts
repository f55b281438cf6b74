import { DatabaseSync } from 'node:sqlite';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Browser, createAccountDriver, type Page } from '../helpers/account-driver.ts';
import { Agent, readForm } from '../helpers/agent.ts';
import { createTestClock } from '../helpers/clock.ts';
import { authorizationRequest, discoverRp, open as openRp } from '../helpers/rp.ts';
import { seedClient } from '../helpers/seed.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const NOTICE = 'Sign-in was cancelled. Nothing was changed.';

/**
 * Issue 8 (screens): "Cancel" on the account pages' sign-in, also during a step-up, goes back to
 * where the person was with a calm notice, not to a 403 page. Other relying parties still get
 * `access_denied` (OIDC Core §3.1.2.6).
 */
describe('cancelling the account sign-in (issue 8)', () => {
  const clock = createTestClock(Date.now() - 3_600_000);
  let server: TestServer;
  const { url, open, member, redirect, signIn, post } = createAccountDriver({ server: () => server, clock });

  beforeAll(async () => {
    server = await startTestServer('sqlite', { clock });
  });
  afterAll(async () => server?.close());

  /** Presses "Cancel" on the provider's sign-in page and follows where it leads. */
  async function cancel(agent: Agent, signInPage: Page, stopAt?: (url: URL) => boolean): Promise<Page> {
    expect(signInPage.url.pathname).toMatch(/^\/interaction\//);
    const form = readForm(await signInPage.response.text(), /\/abort$/);
    const target = new URL(form.action, signInPage.url);
    return agent.follow(await agent.request(target, { form: { _csrf: form.csrf } }), target, stopAt);
  }

  const resumeRows = () => {
    const db = new DatabaseSync(path.join(server.environment.config.dataDir, 'twofold.db'), { readOnly: true });
    try {
      return db.prepare("select key from ephemeral_values where key like 'resume:%'").all().length;
    } finally {
      db.close();
    }
  };

  it('someone not signed in who cancels is told so calmly, with a way to sign in, and is not signed in', async () => {
    const browser = new Browser();
    const landed = await cancel(browser, await open(browser, '/account/two-factor'));
    expect(landed.response.status).toBe(200);
    expect(`${landed.url.pathname}${landed.url.search}`).toBe(
      '/account/sign-in-cancelled?return_to=%2Faccount%2Ftwo-factor',
    );
    const html = await landed.response.text();
    expect(html).toContain(NOTICE);
    expect(html).toContain('href="/account/login?return_to=%2Faccount%2Ftwo-factor"');
    expect(html).not.toContain('status 403');
    expect(redirect(await browser.request(url('/account')))).toBe('303 /account/login?return_to=%2Faccount');
  });

  it('the cancelled page links only to our own pages, whatever return_to it is given (open redirect)', async () => {
    for (const hostile of ['https://evil.example/', '//evil.example', '/account/../../x', '/elsewhere']) {
      const html = await (
        await fetch(url(`/account/sign-in-cancelled?return_to=${encodeURIComponent(hostile)}`))
      ).text();
      expect(html).toContain('href="/account/login?return_to=%2Faccount"');
      expect(html).not.toContain('evil.example');
    }
  });

  it('a step-up for a page that asks for it, cancelled, goes back to My Account with the notice', async () => {
    const kim = await member('kim@example.com');
    const browser = new Browser();
    await signIn(browser, kim);
    clock.advance(301_000);
    const landed = await cancel(browser, await open(browser, '/account/password'));
    expect(landed.response.status).toBe(200);
    expect(`${landed.url.pathname}${landed.url.search}`).toBe('/account?signin=cancelled');
    const html = await landed.response.text();
    expect(html).toContain(NOTICE);
    expect(html).toContain('Your account');
  });

  it('a step-up for a change, cancelled, goes back to the page of that change, and the change is dropped', async () => {
    const lee = await member('lee@example.com');
    const browser = new Browser();
    await signIn(browser, lee);
    clock.advance(301_000);
    const stale = await post(browser, '/account/two-factor/method/totp', { label: 'Never made 5120' });
    expect(redirect(stale)).toMatch(/^303 \/account\/login\?fresh=1&resume=/);
    expect(resumeRows()).toBe(1);
    const landed = await cancel(browser, await open(browser, stale.headers.get('location')!));
    expect(`${landed.url.pathname}${landed.url.search}`).toBe('/account/two-factor?signin=cancelled');
    expect(await landed.response.text()).toContain(NOTICE);
    expect(resumeRows()).toBe(0);
    // The notice is ours alone: a page asked for it without a cancel shows only its fixed text.
    expect(await (await open(browser, '/account/two-factor?signin=<b>x</b>')).response.text()).not.toContain(NOTICE);
  });

  it('another relying party that the person cancels still receives access_denied', async () => {
    const client = await seedClient(server.app, {});
    const rp = await discoverRp(server.issuer, client);
    const request = await authorizationRequest(rp);
    const agent = new Agent();
    const loginPage = await openRp(agent, request.url, rp.redirectUri);
    const back = await cancel(agent, loginPage, (next) => next.href.startsWith(rp.redirectUri));
    expect(back.url.searchParams.get('error')).toBe('access_denied');
    expect(back.url.searchParams.get('state')).toBe(request.state);
  });
});
