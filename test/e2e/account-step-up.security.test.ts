import { DatabaseSync } from 'node:sqlite';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Browser, createAccountDriver, type Member } from '../helpers/account-driver.ts';
import { createTestClock } from '../helpers/clock.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Issue 8: a step-up never carries a password through a page or a store, and what does wait for
 * the re-authentication is sealed. Also: JSON endpoints answer errors in JSON whatever Accept says.
 */
describe('step-up and secrets (issue 8)', () => {
  const clock = createTestClock(Date.now() - 3_600_000);
  let server: TestServer;
  const { url, open, member, redirect, authenticate, signIn, post } = createAccountDriver({
    server: () => server,
    clock,
  });

  /** Every key and value the embedded ephemeral store holds right now, read from its table. */
  function ephemeralRows(): string {
    const db = new DatabaseSync(path.join(server.environment.config.dataDir, 'twofold.db'), { readOnly: true });
    try {
      const rows = db.prepare('select key, value from ephemeral_values').all() as { key: string; value: string }[];
      return rows.map((r) => `${r.key} ${r.value}`).join('\n');
    } finally {
      db.close();
    }
  }

  beforeAll(async () => {
    server = await startTestServer('sqlite', { clock });
  });
  afterAll(async () => server?.close());

  describe('a stale password change', () => {
    let kim: Member;
    const browser = new Browser();
    const newPassword = 'quartz lantern meadow 8812';
    beforeAll(async () => {
      kim = await member('kim@example.com');
      await signIn(browser, kim);
    });

    it('is not kept: no page and no stored row ever holds the current or the new password', async () => {
      clock.advance(301_000);
      const stale = await post(browser, '/account/password', { current: kim.password, password: newPassword });
      expect(redirect(stale)).toBe('303 /account/login?fresh=1&return_to=%2Faccount%2Fpassword');
      expect(ephemeralRows()).not.toContain(newPassword);
      expect(ephemeralRows()).not.toContain(kim.password);
      const { page: back } = await authenticate(browser, kim, await open(browser, stale.headers.get('location')!));
      // Back on the empty form, to type it again; nothing was changed meanwhile.
      expect(back.url.pathname).toBe('/account/password');
      const html = await back.response.text();
      expect(html).not.toContain(newPassword);
      expect(html).not.toContain(kim.password);
      expect(ephemeralRows()).not.toContain(newPassword);
    });

    it('asks for the re-authentication before the form is shown', async () => {
      clock.advance(301_000);
      expect(redirect(await browser.request(url('/account/password')))).toBe(
        '303 /account/login?fresh=1&return_to=%2Faccount%2Fpassword',
      );
    });

    it('offers "sign out everywhere else", ticked by default', async () => {
      const { page: form } = await authenticate(browser, kim, await open(browser, '/account/password'));
      expect(await form.response.text()).toMatch(/<input type="checkbox" id="signOutOthers"[^>]* checked>/);
    });
  });

  it('a pending change without secrets waits sealed, and resumes in the browser that asked for it', async () => {
    const lee = await member('lee@example.com');
    const browser = new Browser();
    await signIn(browser, lee);
    clock.advance(301_000);
    const label = 'Sealed label 4471';
    const stale = await post(browser, '/account/two-factor/method/totp', { label });
    expect(redirect(stale)).toMatch(/^303 \/account\/login\?fresh=1&resume=[A-Za-z0-9_-]{22}$/);
    expect(ephemeralRows()).toMatch(/^resume:/m);
    expect(ephemeralRows()).not.toContain(label);
    expect(ephemeralRows()).not.toContain('/account/two-factor/method/totp');
    const { page: resumed } = await authenticate(browser, lee, await open(browser, stale.headers.get('location')!));
    expect(resumed.url.pathname).toMatch(/^\/account\/resume\//);
    expect(await resumed.response.text()).toContain(`value="${label}"`);
  });

  it('a JSON request to a WebAuthn endpoint gets a JSON error even when it accepts text/html', async () => {
    const response = await fetch(url('/interaction/some-uid/verify/webauthn/challenge'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/html' },
      body: JSON.stringify({ _csrf: 'not the token' }),
    });
    expect(response.status).toBe(403);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect((await response.json()) as unknown).toMatchObject({ error: 'csrf_failed' });
  });
});
