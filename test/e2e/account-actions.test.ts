import { factorDriver } from '../helpers/factors.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Browser, createAccountDriver, USER_AGENTS, type Member } from '../helpers/account-driver.ts';
import { readForm } from '../helpers/agent.ts';
import { createTestClock } from '../helpers/clock.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { fromBase32, readOutbox } from '../helpers/totp.ts';

const iso = (at: number) => new Date(at).toISOString();

/**
 * Every action of the account pages on two-step verification (methods, recovery codes, trusted
 * browsers), driven through the pages as a browser would, with the stored result checked after
 * each. The clock starts an hour in the past so that oidc-provider, which checks max_age against
 * real time, agrees a sign-in is stale whenever the account pages ask for re-authentication (see
 * account.test.ts). The password and sessions: account-actions.password-and-sessions.test.ts.
 * Refusals and step-up: account-actions.security.test.ts and its *.security.test.ts siblings.
 */
describe('account page actions, end to end', () => {
  const clock = createTestClock(Date.now() - 3_600_000);
  let server: TestServer;

  const {
    url,
    open,
    page,
    person,
    factorsOf,
    preferredOf,
    member,
    redirect,
    nextCode,
    withFactors,
    authenticate,
    signIn,
    post,
  } = createAccountDriver({ server: () => server, clock });
  const recoveryLeft = (m: Member) => server.app.factors.recovery.remaining(person(m));
  const codesOn = (html: string) => [...html.matchAll(/<li><code>([^<]+)<\/code><\/li>/g)].map((m) => m[1]!);

  beforeAll(async () => {
    server = await startTestServer('sqlite', { clock });
    await server.app.services.organizations.createOrganization({
      slug: 'strict',
      name: 'Northwind Bank',
      enforceTfa: true,
    });
  });
  afterAll(async () => server?.close());

  describe('adding, choosing and removing methods', () => {
    let tom: Member;
    const browser = new Browser();
    let shownCodes: string[] = [];
    beforeAll(async () => void (tom = await member('tom@example.com')));

    it('tells a person without methods that only the password protects the account', async () => {
      const html = await signIn(browser, tom);
      expect(html).toContain('<span class="badge off">Off</span> Only your password protects this account.');
      expect(html).not.toContain('recovery codes left');
    });

    it('adds an authenticator app from the QR page; the first method creates ten recovery codes, shown once', async () => {
      const begin = await post(browser, '/account/two-factor/method/totp', { label: 'Pixel 8' });
      expect(begin.status).toBe(200);
      const html = await begin.text();
      expect(html).toMatch(/<figure class="qr"[^>]*><svg/);
      tom.secret = fromBase32(/data-testid="manual-key">([A-Z2-7 ]+)</.exec(html)![1]!);
      const factorId = /name="factorId" value="([^"]+)"/.exec(html)![1]!;
      expect((await factorsOf(tom)).map((f) => [f.id, f.kind, f.label, f.active])).toEqual([
        [factorId, 'totp', 'Pixel 8', false],
      ]);

      const right = nextCode(tom);
      const wrong = await post(browser, '/account/two-factor/method/totp/confirm', {
        factorId,
        code: String((Number(right) + 500_000) % 1_000_000).padStart(6, '0'),
      });
      expect(wrong.status).toBe(401);
      expect(await wrong.text()).toContain('role="alert" id="code-error"');
      expect((await factorsOf(tom))[0]!.active).toBe(false);

      expect(redirect(await post(browser, '/account/two-factor/method/totp/confirm', { factorId, code: right }))).toBe(
        '303 /account/recovery-codes',
      );
      expect((await factorsOf(tom))[0]!.active).toBe(true);
      expect(await recoveryLeft(tom)).toBe(10);
      shownCodes = codesOn(await page(browser, '/account/recovery-codes'));
      expect(new Set(shownCodes).size).toBe(10);
      expect((await factorDriver(server.app).verifyRecoveryCode(person(tom), shownCodes[0]!)).ok).toBe(true);
      const reload = await page(browser, '/account/recovery-codes');
      expect(reload).toContain('Your recovery codes were shown already.');
      expect(codesOn(reload)).toEqual([]);
    });

    it('adds a text-message and a voice method with the code the outbox received, without new recovery codes', async () => {
      for (const [kind, typed, phone, masked] of [
        ['sms', '+1 (415) 555-0123', '+14155550123', '+1 ••• ••• ••23'],
        ['voice', '+44 20 7946 0958', '+442079460958', '+44 •• •••• ••58'],
      ] as const) {
        const sent = await post(browser, `/account/two-factor/method/${kind}`, { phone: typed, label: `${kind} line` });
        expect(sent.status).toBe(200);
        const html = await sent.text();
        expect(html).toContain(
          `${kind === 'sms' ? 'sent a text message to' : 'are calling'} your number <strong class="phone-number">${masked}</strong>`,
        );
        const message = readOutbox(server.environment.config.dataDir).at(-1)!;
        expect([message.channel, message.to]).toEqual([kind, phone]);
        const factorId = /name="factorId" value="([^"]+)"/.exec(html)![1]!;
        expect(
          redirect(await post(browser, `/account/two-factor/method/${kind}/confirm`, { factorId, code: message.code })),
        ).toBe('303 /account/two-factor?done=added');
        expect((await factorsOf(tom)).find((f) => f.id === factorId)).toMatchObject({ kind, phone, active: true });
      }
      expect(await recoveryLeft(tom)).toBe(9);
      const settings = await page(browser, '/account/two-factor?done=added');
      expect(settings).toContain('The method was added.');
      expect([...settings.matchAll(/action="\/account\/two-factor\/remove"/g)]).toHaveLength(3);
    });

    it('makes a method preferred', async () => {
      const voice = (await factorsOf(tom)).find((f) => f.kind === 'voice')!;
      expect(redirect(await post(browser, '/account/two-factor/preferred', { factorId: voice.id }))).toBe(
        '303 /account/two-factor?done=preferred',
      );
      expect(await preferredOf(tom)).toBe(voice.id);
      const html = await page(browser, '/account/two-factor');
      expect(html).toMatch(
        /<strong>voice line<\/strong>[^<]*<span class="muted">Voice call, \+44 •• •••• ••58<\/span>\s*<span class="badge">Preferred<\/span>/,
      );
      expect(html).not.toContain(`value="${voice.id}"><button type="submit" class="link">Make preferred`);
    });

    it('removes a method; removing the preferred one clears the preference and keeps the rest', async () => {
      const voice = (await factorsOf(tom)).find((f) => f.kind === 'voice')!;
      expect(redirect(await post(browser, '/account/two-factor/remove', { factorId: voice.id }))).toBe(
        '303 /account/two-factor?done=removed',
      );
      expect((await factorsOf(tom)).map((f) => f.kind).sort()).toEqual(['sms', 'totp']);
      expect(await preferredOf(tom)).toBeNull();
      expect(await recoveryLeft(tom)).toBe(9);
    });

    it('makes new recovery codes, and the old set stops working', async () => {
      expect(redirect(await post(browser, '/account/two-factor/recovery-codes'))).toBe('303 /account/recovery-codes');
      const fresh = codesOn(await page(browser, '/account/recovery-codes'));
      expect(fresh).toHaveLength(10);
      expect(await recoveryLeft(tom)).toBe(10);
      expect((await factorDriver(server.app).verifyRecoveryCode(person(tom), shownCodes[1]!)).ok).toBe(false);
      expect((await factorDriver(server.app).verifyRecoveryCode(person(tom), fresh[0]!)).ok).toBe(true);
    });

    it('removing the last method turns two-step verification off and deletes the recovery codes', async () => {
      const [first, last] = await factorsOf(tom);
      expect((await post(browser, '/account/two-factor/remove', { factorId: first!.id })).status).toBe(303);
      expect(await recoveryLeft(tom)).toBe(9);
      expect((await post(browser, '/account/two-factor/remove', { factorId: last!.id })).status).toBe(303);
      expect([await factorsOf(tom), await recoveryLeft(tom)]).toEqual([[], 0]);
      const html = await page(browser, '/account/two-factor');
      expect(html).toContain('<span class="badge off">Off</span>');
      expect(html).not.toMatch(/\/account\/two-factor\/(recovery-codes|disable)/);
    });

    it('sends a stale change of a person without two-step verification through the password alone, then completes it', async () => {
      clock.advance(301_000);
      const stale = await post(browser, '/account/two-factor/method/totp', { label: 'Later' });
      expect(redirect(stale)).toMatch(/^303 \/account\/login\?fresh=1&resume=[A-Za-z0-9_-]{22}$/);
      expect(await factorsOf(tom)).toEqual([]);
      const { page: resumed, steps } = await authenticate(
        browser,
        tom,
        await open(browser, stale.headers.get('location')!),
      );
      expect(steps).toEqual(['password']);
      expect(resumed.url.pathname).toMatch(/^\/account\/resume\//);
      const form = readForm(await resumed.response.text(), /^\/account\/two-factor\/method\/totp$/);
      const done = await browser.request(url(form.action), { form: { _csrf: form.csrf, label: 'Later' } });
      expect(await done.text()).toContain('Set up your authenticator app');
      expect((await factorsOf(tom)).map((f) => [f.kind, f.label, f.active])).toEqual([['totp', 'Later', false]]);
    });
  });

  describe('the overview and turning two-step verification off', () => {
    let ann: Member;
    const browser = new Browser();
    beforeAll(async () => {
      ann = await member('ann@example.com');
      await withFactors(ann, '+14155550142');
      await signIn(browser, ann, true);
    });

    it('shows why it is on, each method with when it was added and last used, codes left, browsers, sessions and events', async () => {
      const html = await page(browser, '/account');
      expect(html).toContain('<span class="badge on">On</span> You turned it on.');
      for (const method of await factorsOf(ann)) {
        const lastUsed = method.lastUsedAt ? `<time datetime="${iso(method.lastUsedAt)}">` : 'never';
        expect(html).toMatch(
          new RegExp(
            `<strong>${method.label}</strong>[^]*?Added <time datetime="${iso(method.createdAt)}">[^<]*</time>, last used ${lastUsed}`,
          ),
        );
      }
      expect(html).toContain('Text message (SMS), +1 ••• ••• ••42');
      expect(html).toContain('10 recovery codes left.');
      expect(html).toContain('Signed in on 1 browser. 1 trusted browser skips the second step.');
      expect(/<ul class="events">([^]*?)<\/ul>/.exec(html)![1]).toMatch(
        /Signed in <span class="muted"><time datetime="[^"]+">[^<]+<\/time> from /,
      );
    });

    it('turns it off: every method, recovery code and trusted browser is deleted', async () => {
      expect(redirect(await post(browser, '/account/two-factor/disable'))).toBe(
        '303 /account/two-factor?done=disabled',
      );
      expect([await factorsOf(ann), await recoveryLeft(ann), await preferredOf(ann)]).toEqual([[], 0, null]);
      expect(await page(browser, '/account/two-factor?done=disabled')).toContain('Two-step verification is off.');
      expect(await page(browser, '/account')).toContain('0 trusted browsers skip the second step.');
    });
  });

  describe('an organization that enforces two-step verification', () => {
    let nora: Member;
    const browser = new Browser();
    beforeAll(async () => {
      nora = await member('nora@example.com', 'strict');
      await withFactors(nora);
      await signIn(browser, nora);
    });

    it('names the organization as the reason and offers no way to turn it off', async () => {
      expect(await page(browser, '/account')).toContain(
        '<span class="badge on">On</span> Northwind Bank requires it for everyone.',
      );
      const settings = await page(browser, '/account/two-factor');
      expect(settings).toContain(
        'Northwind Bank requires two-step verification for everyone, so it cannot be turned off.',
      );
      expect(settings).not.toContain('action="/account/two-factor/disable"');
      // The only method cannot be removed here: the page says so instead of offering a dead end.
      expect(settings).not.toContain('action="/account/two-factor/remove"');
      expect(settings).toContain('add another method before removing this one');
    });

    it('refuses turning it off, or removing the only method, with a 409 page naming the organization, and changes nothing', async () => {
      const before = await factorsOf(nora);
      const disable = await post(browser, '/account/two-factor/disable');
      expect(disable.status).toBe(409);
      expect(await disable.text()).toContain('Northwind Bank requires two-step verification for everyone');
      const remove = await post(browser, '/account/two-factor/remove', { factorId: before[0]!.id });
      expect(remove.status).toBe(409);
      expect(await remove.text()).toContain(
        'Northwind Bank requires two-step verification, so you cannot remove your only method.',
      );
      expect([await factorsOf(nora), await recoveryLeft(nora)]).toEqual([before, 10]);
    });
  });

  it('lists a browser trusted at sign-in, and after "stop trusting" that browser is asked for the second step again', async () => {
    const tia = await member('tia@example.com');
    await withFactors(tia);
    const browser = new Browser();
    await signIn(browser, tia, true);
    const trustCookie = browser.cookies.find((c) => c.name === 'twofold.trusted')!;
    const returning = () => Object.assign(new Browser(), { cookies: [{ ...trustCookie }] });
    const sessions = await page(browser, '/account/sessions');
    // Issue 8: named with versions, "this browser", first trusted and not yet used to skip a step.
    expect(sessions).toMatch(
      /<strong>Firefox 130 on Linux<\/strong> <span class="badge">This browser<\/span>\s*<dl class="facts">\s*<dt>Trusted<\/dt><dd><time datetime="[^"]+" class="local">[^]*?<dt>Last used<\/dt><dd>Not yet<\/dd>/,
    );
    expect(sessions).toContain('aria-label="Stop trusting this browser (Firefox 130 on Linux)">Stop trusting</button>');
    const id =
      /action="\/account\/trusted-browsers\/revoke"><input type="hidden" name="_csrf" value="[^"]+"><input type="hidden" name="id" value="([^"]+)"/.exec(
        sessions,
      )![1]!;
    expect(await page(browser, '/account/two-factor')).toContain(`name="id" value="${id}"`);
    const before = returning();
    before.userAgent = USER_AGENTS.chromeOnWindows;
    expect((await authenticate(before, tia, await open(before, '/account'))).steps).toEqual(['password']);
    // The skip is recorded as its last use; that browser sees its own row as "this browser".
    const used = await page(before, '/account/sessions');
    expect(used).toMatch(/<dt>Last used<\/dt><dd><time datetime="[^"]+" class="local">/);
    expect(used).toContain('<strong>Firefox 130 on Linux</strong> <span class="badge">This browser</span>');
    expect(await page(browser, '/account/two-factor')).toContain(
      'aria-label="Stop trusting this browser (Firefox 130 on Linux)"',
    );

    expect(redirect(await post(browser, '/account/trusted-browsers/revoke', { id }))).toBe(
      '303 /account/two-factor?done=revoked',
    );
    expect(await page(browser, '/account/sessions')).not.toContain('Trusted browsers');
    expect(await page(browser, '/account')).toContain('0 trusted browsers skip the second step.');
    const after = returning();
    expect((await authenticate(after, tia, await open(after, '/account'))).steps).toEqual([
      'password',
      'second-factor',
    ]);
  });
});
