import { expect } from 'vitest';

import { Browser, type createAccountDriver, type Member } from './account-driver.ts';
import { readForm, type Agent } from './agent.ts';
import type { TestClock } from './clock.ts';
import { authorizationRequest, open, submitLogin, type RelyingParty } from './rp.ts';
import { PASSWORD } from './seed.ts';
import type { TestServer } from './server.ts';
import { secretFromUri, totpAt } from './totp.ts';

type Page = { response: Response; url: URL };

/**
 * Temporary access codes end to end: an administrator makes one on the console, a person signs in
 * to a relying party with their password and the code, then enrols a new method at sign-in.
 */
export function createAccessCodeDriver(deps: {
  server: () => TestServer;
  rp: () => RelyingParty;
  clock: TestClock;
  accounts: ReturnType<typeof createAccountDriver>;
}) {
  const { accounts, clock } = deps;
  const url = (path: string) => new URL(path, deps.server().issuer);

  /** The administrator makes a code on the person's page; returns it as shown (once). */
  async function issue(admin: Browser, m: Member, lifetime = '60'): Promise<string> {
    const made = await accounts.post(admin, `/admin/people/${m.seeded.user.id}/access-code`, { lifetime });
    expect(accounts.redirect(made)).toBe(`303 /admin/people/${m.seeded.user.id}/access-code`);
    const html = await accounts.page(admin, `/admin/people/${m.seeded.user.id}/access-code`);
    return /data-testid="access-code" id="access-code">([A-Z2-9-]+)</.exec(html)![1]!;
  }

  /** The authorization request and the password: returns the page that follows and the interaction. */
  async function passwordStep(agent: Agent, m: Member) {
    const request = await authorizationRequest(deps.rp());
    const login = await open(agent, request.url, deps.rp().redirectUri);
    const page = await submitLogin(agent, login, m.seeded.user.email, m.password, deps.rp().redirectUri);
    const uid = agent.cookies.find((c) => c.name === '_interaction')!.value;
    return { request, page, uid };
  }

  /** The second step's page with the access code asked for (if offered), and `code` posted for it (not followed). */
  async function submitCode(agent: Agent, uid: string, code: string): Promise<Response> {
    const step = url(`/interaction/${uid}/verify?method=access-code`);
    const form = readForm(await (await agent.request(step)).text(), /\/verify\/[a-z-]+$/);
    return agent.request(url(`/interaction/${uid}/verify/access-code`), { form: { _csrf: form.csrf, code } });
  }

  /** Whether the second step offers the code (as a choice, or as the page itself). */
  async function offered(agent: Agent, uid: string): Promise<boolean> {
    const html = await (await agent.request(url(`/interaction/${uid}/verify`))).text();
    return /\?method=access-code"|action="[^"]*\/verify\/access-code"/.test(html);
  }

  /** Enrols an authenticator app on the enrolment page, saves the recovery codes and finishes: the callback. */
  async function enrolAndFinish(agent: Agent, enrol: Page): Promise<URL> {
    const choose = readForm(await enrol.response.text(), /\/enrol\/method\/totp$/);
    const html = await (await agent.request(url(choose.action), { form: { _csrf: choose.csrf } })).text();
    const key = /data-testid="manual-key">([A-Z2-7 ]+)</.exec(html)![1]!;
    const secret = secretFromUri(`otpauth://totp/x?secret=${key.replaceAll(' ', '')}`);
    const confirm = readForm(html, /\/enrol\/method\/totp\/confirm$/);
    const factorId = /name="factorId" value="([^"]+)"/.exec(html)![1]!;
    const atClient = (next: URL) => next.href.startsWith(deps.rp().redirectUri);
    const codes = await agent.follow(
      await agent.request(url(confirm.action), {
        form: { _csrf: confirm.csrf, factorId, code: totpAt(secret, clock.now() / 1000) },
      }),
      url(confirm.action),
      atClient,
    );
    // Someone who still has recovery codes keeps them: no new set to save, the sign-in is done.
    if (atClient(codes.url)) return codes.url;
    const finish = readForm(await codes.response.text(), /\/enrol\/finish$/);
    const done = await agent.follow(
      await agent.request(url(finish.action), { form: { _csrf: finish.csrf } }),
      url(finish.action),
      atClient,
    );
    return done.url;
  }

  /** An administrator of the organization `slug` (made, with `enforceTfa`, when it does not exist yet). */
  async function adminOf(slug: string, email: string, options: { enforceTfa?: boolean } = {}): Promise<Member> {
    const { app } = deps.server();
    const org =
      (await app.stores.organizations.findOrganizationBySlug(slug)) ??
      (await app.services.organizations.createOrganization({ slug, name: `${slug} corp`, ...options }));
    const user = await app.services.accounts.createUser(org, {
      email,
      password: PASSWORD,
      role: 'admin',
      name: 'Admin',
    });
    return { seeded: { org, user, password: PASSWORD }, password: PASSWORD, secret: null, lastStep: 0 };
  }

  /** Signs the administrator in afresh: every console change needs a sign-in of the last five minutes. */
  async function freshAdmin(admin: Member): Promise<Browser> {
    const browser = new Browser();
    await accounts.signIn(browser, admin);
    return browser;
  }

  return { adminOf, issue, passwordStep, submitCode, offered, enrolAndFinish, freshAdmin };
}
