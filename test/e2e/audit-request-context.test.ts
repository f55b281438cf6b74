import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Browser, createAccountDriver, USER_AGENTS, type Member } from '../helpers/account-driver.ts';
import { readForm } from '../helpers/agent.ts';
import { createTestClock } from '../helpers/clock.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** A browser behind a load balancer that stamps every request with its own X-Request-Id. */
class BalancedBrowser extends Browser {
  requestId = '';
  override request(target: string | URL, options: Parameters<Browser['request']>[1] = {}): Promise<Response> {
    return super.request(target, { ...options, headers: { 'x-request-id': this.requestId, ...options.headers } });
  }
}

/**
 * The audit trail knows the request each event came from (src/http/request-context.ts): its
 * browser and its request id, the one in the request's log line and X-Request-Id header, without
 * any flow passing them along.
 */
describe('an audit event recorded during a real request', () => {
  const clock = createTestClock(Date.now() - 3_600_000);
  let server: TestServer;
  const driver = createAccountDriver({ server: () => server, clock });
  beforeAll(async () => {
    server = await startTestServer('sqlite', { clock });
  });
  afterAll(async () => server?.close());

  const signInEvent = async (m: Member) =>
    (await server.app.stores.audit.listAuditEvents(m.seeded.org.id, m.seeded.user.id, 10)).find(
      (e) => e.type === 'signin.succeeded',
    );

  /** Posts the password form in `browser`; answers the response of that one request. */
  async function postPassword(browser: Browser, m: Member): Promise<Response> {
    const start = await driver.open(browser, '/account');
    const login = readForm(await start.response.text(), /\/login$/);
    return browser.request(new URL(login.action, start.url), {
      form: { _csrf: login.csrf, email: m.seeded.user.email, password: m.password },
    });
  }

  it('carries its user agent and the request id a load balancer gave the request', async () => {
    const m = await driver.member('rita@acme.example');
    const browser = Object.assign(new BalancedBrowser(), {
      requestId: 'lb-7f3a9c01-rita',
      userAgent: USER_AGENTS.safariOnMacos,
    });
    const response = await postPassword(browser, m);
    expect(response.status).toBe(303);
    expect(response.headers.get('x-request-id')).toBe('lb-7f3a9c01-rita');
    expect(await signInEvent(m)).toMatchObject({
      userAgent: USER_AGENTS.safariOnMacos,
      requestId: 'lb-7f3a9c01-rita',
      ip: expect.any(String),
    });
  });

  it('carries the id the server gave the request when none came in, or a malformed one did', async () => {
    for (const [email, incoming] of [
      ['sol@acme.example', ''],
      ['tom@acme.example', 'not an id; DROP TABLE audit_events'],
    ] as const) {
      const m = await driver.member(email);
      const browser = Object.assign(new BalancedBrowser(), { requestId: incoming });
      const response = await postPassword(browser, m);
      const given = response.headers.get('x-request-id')!;
      expect(given).toMatch(/^[A-Za-z0-9_-]{8,128}$/);
      expect(given).not.toBe(incoming);
      expect(await signInEvent(m)).toMatchObject({ userAgent: USER_AGENTS.firefoxOnLinux, requestId: given });
    }
  });
});
