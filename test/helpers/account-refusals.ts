import { expect } from 'vitest';

import { browserOn, Browser, createAccountDriver, USER_AGENTS, type Member } from './account-driver.ts';
import { createTestClock } from './clock.ts';
import { startTestServer, type TestServer } from './server.ts';
import { readOutbox } from './totp.ts';

const elsewhere = () => browserOn(USER_AGENTS.chromeOnWindows);

/**
 * The set-up of the account-actions security suites (account-actions.security.test.ts,
 * account-actions.isolation.security.test.ts, account-actions.sign-in.security.test.ts): Eve and
 * Vic in Acme and Oscar in Globex, each with an authenticator app, a text-message number and ten
 * recovery codes (Vic prefers the text message); Eve and Vic are signed in on two browsers each,
 * the second trusted. The clock starts an hour in the past (see account.test.ts for why).
 * `start` runs in beforeAll, `close` in afterAll; the driver and helpers work once started.
 */
export function createRefusalFixture() {
  const clock = createTestClock(Date.now() - 3_600_000);
  let server: TestServer | undefined;
  const started = () => {
    if (!server) throw new Error('the refusal fixture was not started');
    return server;
  };
  const [browser, eveElsewhere, vicBrowser, vicElsewhere] = [new Browser(), elsewhere(), new Browser(), elsewhere()];
  const driver = createAccountDriver({ server: started, clock });
  const { url, open, page, person, factorsOf, preferredOf, member, withFactors, signIn } = driver;
  const trustedIds = (html: string) => [...html.matchAll(/name="id" value="([^"]+)"/g)].map((m) => m[1]!);
  const sessionUids = (html: string) => [...html.matchAll(/name="uid" value="([^"]+)"/g)].map((m) => m[1]!);

  /** A POST with a hand-written body (repeated fields, oversized bodies, JSON). */
  function postRaw(
    b: Browser,
    path: string,
    body: string,
    type = 'application/x-www-form-urlencoded',
  ): Promise<Response> {
    const target = url(path);
    return fetch(target, {
      method: 'POST',
      body,
      redirect: 'manual',
      headers: { 'content-type': type, accept: 'text/html', cookie: b.cookieHeader(target) },
    });
  }

  /** Everything a refused request must leave as it was. */
  async function stateOf(m: Member, b: Browser) {
    const sessions = await page(b, '/account/sessions');
    return {
      factors: (await factorsOf(m)).map((f) => `${f.id}:${f.kind}:${f.active}`).sort(),
      preferred: await preferredOf(m),
      recovery: await started().app.factors.recovery.remaining(person(m)),
      passwordHash: (await started().app.stores.users.findUserByEmail(m.seeded.user.email))!.passwordHash,
      trusted: trustedIds(sessions),
      sessions: sessionUids(sessions),
      outbox: readOutbox(started().environment.config.dataDir).length,
      signedIn: (await open(b, '/account')).url.pathname,
    };
  }

  /** A 4xx error page written for a person, never a 500. */
  async function expectRefusal(response: Response, status: number, message?: string): Promise<void> {
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).not.toContain('Something went wrong');
    if (message) expect(html).toContain(message);
  }

  /** Starts the server and signs the people in; returns what the tests name directly. */
  async function start(): Promise<{ server: TestServer; eve: Member; vic: Member; oscar: Member }> {
    server = await startTestServer('sqlite', { clock });
    await server.app.services.organizations.createOrganization({ slug: 'globex', name: 'Globex', enforceTfa: false });
    const eve = await member('eve@example.com', 'acme');
    const vic = await member('vic@example.com', 'acme');
    const oscar = await member('oscar@globex.example', 'globex');
    for (const [m, phone] of [
      [eve, '+14155550101'],
      [vic, '+14155550102'],
      [oscar, '+14155550103'],
    ] as const)
      await withFactors(m, phone);
    await server.app.factors.store.setPreferredFactorId(
      vic.seeded.org.id,
      vic.seeded.user.id,
      (await factorsOf(vic)).find((f) => f.kind === 'sms')!.id,
    );
    await signIn(vicElsewhere, vic);
    await signIn(vicBrowser, vic, true);
    await signIn(eveElsewhere, eve);
    await signIn(browser, eve, true);
    return { server, eve, vic, oscar };
  }

  return {
    ...driver,
    clock,
    browser,
    eveElsewhere,
    vicBrowser,
    vicElsewhere,
    trustedIds,
    sessionUids,
    postRaw,
    stateOf,
    expectRefusal,
    start,
    close: async () => server?.close(),
  };
}
