import { afterEach, describe, expect, it } from 'vitest';

import { createLogger } from '../../src/logger.ts';
import { Browser, createAccountDriver, type Member } from '../helpers/account-driver.ts';
import { createTestClock } from '../helpers/clock.ts';
import { freePort, startTestServer, type TestServer } from '../helpers/server.ts';
import { smtpMail, startSilentServer, startSmtpServer } from '../helpers/smtp.ts';

/**
 * A notice never undoes what it reports and a mail server never holds a request: with the SMTP
 * server down, refusing, or silent, the change still succeeds at once and the failure is logged.
 */
describe('security emails when the SMTP server fails', () => {
  const clock = createTestClock(Date.now() - 3_600_000);
  let server: TestServer | undefined;
  const closers: Array<() => Promise<void>> = [];
  const driver = createAccountDriver({ server: () => server!, clock });
  afterEach(async () => {
    await server?.close();
    for (const close of closers.splice(0)) await close();
  });

  /** Starts the app sending mail to `url`, with its log lines kept for the test. */
  async function startWithMailAt(url: string, smtp: Record<string, unknown> = {}) {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line)) });
    server = await startTestServer('sqlite', { clock, overrides: smtpMail(url, smtp), app: { logger } });
    return { lines, failures: () => lines.filter((line) => line.msg === 'could not send an email') };
  }

  /** A person with two-step verification, signed in: making an app password is then one cheap request. */
  async function signedIn(email: string): Promise<{ m: Member; browser: Browser }> {
    const m = await driver.member(email);
    await driver.withFactors(m);
    const browser = new Browser();
    await driver.signIn(browser, m);
    return { m, browser };
  }

  const makeAppPassword = (browser: Browser) =>
    driver.post(browser, '/account/app-passwords', { name: 'Mail', scopes: 'imap', expires: 'never' });

  it('down: the change succeeds and the failed email is logged', async () => {
    const { failures } = await startWithMailAt(`smtp://127.0.0.1:${await freePort()}`);
    const { m, browser } = await signedIn('ada@acme.example');
    expect(driver.redirect(await makeAppPassword(browser))).toBe('303 /account/app-passwords/new');
    expect(await server!.app.services.appPasswords.list(driver.person(m))).toHaveLength(1);
    await server!.app.services.notices.settled();
    expect(failures()).toContainEqual(
      expect.objectContaining({ level: 50, to: 'ada@acme.example', errorCode: 'ESOCKET' }),
    );
  });

  it('refusing the recipient: the change succeeds and the refusal is logged with the server answer', async () => {
    const refusing = await startSmtpServer({ refuse: true });
    closers.push(refusing.close);
    const { failures } = await startWithMailAt(refusing.url);
    const { browser } = await signedIn('bob@acme.example');
    expect(driver.redirect(await makeAppPassword(browser))).toBe('303 /account/app-passwords/new');
    await server!.app.services.notices.settled();
    expect(refusing.received).toEqual([]);
    expect(failures()).toContainEqual(expect.objectContaining({ to: 'bob@acme.example', responseCode: 550 }));
  });

  it('silent: the request answers long before the greeting timeout, which is then logged', async () => {
    const silent = await startSilentServer();
    closers.push(silent.close);
    const { failures } = await startWithMailAt(silent.url, { greetingTimeoutMs: 3000 });
    const { browser } = await signedIn('cy@acme.example');
    const started = performance.now();
    expect(driver.redirect(await makeAppPassword(browser))).toBe('303 /account/app-passwords/new');
    expect(performance.now() - started).toBeLessThan(2000);
    await server!.app.services.notices.settled();
    expect(failures()).toContainEqual(expect.objectContaining({ to: 'cy@acme.example', errorCode: 'ETIMEDOUT' }));
  });
});
