import { expect } from 'vitest';

import { openSqlDatabase } from '../../src/storage/sql/database.ts';
import type { Browser, createAccountDriver, Member, Page } from './account-driver.ts';
import { readForm } from './agent.ts';
import type { TestServer } from './server.ts';
import { readOutboxEmails } from './totp.ts';

/** An email as the outbox driver wrote it. */
export interface Email {
  to: string;
  subject: string;
  text: string;
  at: string;
}

/**
 * Emailed links (password reset, invitation) for the end-to-end suites: the emails read from the
 * outbox file, the links in them, and the forgotten-password pages driven as a browser would.
 */
export function linkDriver(server: () => TestServer) {
  const url = (path: string) => new URL(path, server().issuer);
  // The emails of these flows, not the security notices (an app password created, a new browser)
  // that reach the same people in between: those say when, from which browser and address.
  const isNotice = (m: Email) => /^When: .+ UTC$/m.test(m.text) && /^Browser: /m.test(m.text);
  const emails = () => readOutboxEmails(server().environment.config.dataDir).filter((m) => !isNotice(m));

  /**
   * Waits for the `n`-th email to `to` (counting from one): a reset link is sent after the page has
   * answered, so that the answer never depends on whether the address exists.
   */
  async function emailTo(to: string, n = 1, timeoutMs = 5000): Promise<Email> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = emails().filter((m) => m.to === to)[n - 1];
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no email number ${n} to ${to} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** The full link of `path` (`reset-password`, `invitation`) written in an email. */
  function linkIn(email: Email, path: string): URL {
    const match = new RegExp(`https?://\\S+/${path}/[A-Za-z0-9_-]{43}`).exec(email.text);
    expect(match, `no ${path} link in:\n${email.text}`).not.toBeNull();
    return new URL(match![0]);
  }

  async function open(b: Browser, target: URL | string): Promise<Page> {
    const start = typeof target === 'string' ? url(target) : target;
    return b.follow(await b.request(start), start);
  }

  /** Posts the page's form whose action matches, with `fields`, and follows where it leads. */
  async function submit(b: Browser, page: Page, action: RegExp, fields: Record<string, string>): Promise<Page> {
    const form = readForm(await page.response.text(), action);
    const target = new URL(form.action, page.url);
    return b.follow(await b.request(target, { form: { _csrf: form.csrf, ...fields } }), target);
  }

  /** "Forgot password?" with this address; the answer page (not followed). */
  async function requestLink(b: Browser, email: string, from?: string): Promise<Response> {
    const page = await open(b, from ? `/forgot-password?from=${from}` : '/forgot-password');
    const form = readForm(await page.response.text(), /\/forgot-password$/);
    const fields: Record<string, string> = { _csrf: form.csrf, email, ...(from ? { from } : {}) };
    return b.request(url(form.action), { form: fields });
  }

  /** Sets a person's disabled_at straight in the database (what the console's disable will do). */
  async function disable(userId: string, at: number): Promise<void> {
    const { config } = server().environment;
    const sql = openSqlDatabase({ kind: 'sqlite', filename: `${config.dataDir}/twofold.db` });
    await sql.db.updateTable('users').set({ disabled_at: at }).where('id', '=', userId).execute();
    await sql.close();
  }

  return { url, emails, emailTo, linkIn, open, submit, requestLink, disable };
}

/**
 * An administrator's changes in the console: posted, and when their sign-in is stale, confirmed
 * (password, then the authenticator app) and resumed as the resume page does in a browser.
 */
export function freshChanges(driver: ReturnType<typeof createAccountDriver>, links: ReturnType<typeof linkDriver>) {
  async function confirmItsMe(b: Browser, m: Member, stale: Response): Promise<Page> {
    expect(stale.headers.get('location')).toMatch(/^\/account\/login\?fresh=1&resume=/);
    const { page } = await driver.authenticate(b, m, await driver.open(b, stale.headers.get('location')!));
    expect(page.url.pathname).toMatch(/^\/account\/resume\//);
    const html = await page.response.clone().text();
    const fields = Object.fromEntries(
      [...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)]
        .filter((m) => m[1] !== '_csrf')
        .map((m) => [m[1]!, m[2]!.replaceAll('&amp;', '&')]),
    );
    return links.submit(b, page, /^\/admin\//, fields);
  }

  async function change(b: Browser, m: Member, path: string, form: Record<string, string> = {}): Promise<Page> {
    const response = await driver.post(b, path, form);
    if (!response.headers.get('location')?.startsWith('/account/login?fresh=1'))
      return b.follow(response, links.url(path));
    return confirmItsMe(b, m, response);
  }

  return { confirmItsMe, change };
}
