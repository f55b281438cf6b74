import { createAccountDriver, Browser, type Member } from '../account-driver.ts';
import type { TestClock } from '../clock.ts';
import { authorizationRequest, discoverRp, open, signInForTokens, submitLogin, type RelyingParty } from '../rp.ts';
import { PASSWORD, seedClient, seedUser } from '../seed.ts';
import type { TestServer } from '../server.ts';

/** Where a request comes from: its cookies, CSRF token, bearer token, and the values of path parameters. */
export interface FuzzState {
  name: string;
  cookie: string;
  csrf: string;
  bearer?: string;
  params: Record<string, string>;
  /** The page that shows this state's forms, to read their fields. */
  pages: string[];
}

const csrfIn = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
const cookieOf = (b: Browser, path = '/') => b.cookieHeader(new URL(path, 'http://localhost'));

/**
 * The realistic states the fuzz starts from (issue 11): anonymous, mid-sign-in (password step,
 * second step, enrolment at sign-in), a person signed in to My Account, an administrator with a
 * fresh sign-in, and bearer tokens for the account and admin APIs. Each `*()` call answers a
 * state that is live now, building a new one where the last was used up.
 */
export async function createFuzzStates(server: TestServer, clock: TestClock) {
  const driver = createAccountDriver({ server: () => server, clock });
  const app = server.app;
  const rp: RelyingParty = await discoverRp(server.issuer, await seedClient(app, { id: 'fuzz-rp', firstParty: true }));
  const accountApp = await discoverRp(
    server.issuer,
    await seedClient(app, { id: 'fuzz-account-app', accountApi: true, redirectUri: 'https://app.example/cb' }),
  );
  const adminTool = await discoverRp(
    server.issuer,
    await seedClient(app, { id: 'fuzz-admin-tool', adminApi: true, redirectUri: 'https://tool.example/cb' }),
  );
  const person: Member = await driver.member('person@acme.example');
  await driver.withFactors(person);
  const admin: Member = {
    seeded: await seedUser(app, { slug: 'adm', email: 'root@adm.example', role: 'admin' }),
    password: PASSWORD,
    secret: null,
    lastStep: 0,
  };
  await driver.withFactors(admin);
  const target: Member = await driver.member('target@adm.example', 'adm');
  await driver.withFactors(target);
  await app.services.organizations.createOrganization({ slug: 'strict', name: 'Strict', enforceTfa: true });
  const enrolling = await seedUser(app, { slug: 'strict', email: 'new@strict.example' });
  const [personFactor] = await driver.factorsOf(person);
  const [targetFactor] = await driver.factorsOf(target);
  const kinds = app.factors.registry.all().map((f) => f.kind);
  const common = { name: 'site.css', secret: 'not-a-real-secret', kind: kinds[0]! };

  const anonymous = async (): Promise<FuzzState> => {
    const b = new Browser();
    const html = await driver.page(b, '/forgot-password');
    return {
      name: 'anonymous',
      cookie: cookieOf(b),
      csrf: csrfIn(html),
      params: { ...common, uid: 'no-such-interaction', id: 'x' },
      pages: [],
    };
  };

  /** A live interaction at its password page, moved on by `after` (the password of someone). */
  const interaction = async (name: string, who?: { email: string; password: string }): Promise<FuzzState> => {
    const b = new Browser();
    const request = await authorizationRequest(rp);
    let page = await open(b, request.url, rp.redirectUri);
    if (who) page = await submitLogin(b, page, who.email, who.password, rp.redirectUri);
    const uid = /\/interaction\/([^/]+)/.exec(page.url.pathname)?.[1];
    if (!uid) throw new Error(`${name}: no interaction at ${page.url.href}`);
    const html = await page.response.text();
    return {
      name,
      cookie: cookieOf(b, page.url.pathname),
      csrf: csrfIn(html),
      params: { ...common, uid, id: personFactor!.id },
      pages: [page.url.pathname],
    };
  };

  const signedIn = (name: string, m: Member, params: Record<string, string>, pages: string[]) => {
    let live: { browser: Browser; at: number } | undefined;
    return async (): Promise<FuzzState> => {
      // A step-up is fresh for 300 s; sign in again well before, or when the session is gone.
      const stale =
        !live || clock.now() - live.at > 200_000 || (await live.browser.request(driver.url('/account'))).status !== 200;
      if (stale) {
        const browser = new Browser();
        await driver.signIn(browser, m);
        live = { browser, at: clock.now() };
      }
      const browser = live!.browser;
      browser.csrf = null;
      return {
        name,
        cookie: cookieOf(browser, '/account'),
        csrf: await driver.csrfOf(browser),
        params: { ...common, ...params },
        pages,
      };
    };
  };

  /** A bearer token kept while it is fresh and `probe` (an API read) still accepts it. */
  const bearer = (name: string, m: Member, client: RelyingParty, probe: string, params: Record<string, string>) => {
    let live: { token: string; at: number } | undefined;
    return async (): Promise<FuzzState> => {
      const accepted = async (token: string) =>
        (await fetch(driver.url(probe), { headers: { authorization: `Bearer ${token}` } })).status === 200;
      if (!live || clock.now() - live.at > 200_000 || !(await accepted(live.token))) {
        const totpCode = () => driver.nextCode(m);
        const tokens = await signInForTokens(client, { email: m.seeded.user.email, password: m.password, totpCode });
        live = { token: tokens.access_token, at: clock.now() };
      }
      return { name, cookie: '', csrf: '', bearer: live.token, params: { ...common, ...params }, pages: [] };
    };
  };

  return {
    kinds,
    members: { person, admin },
    anonymous,
    login: () => interaction('at the password step'),
    verify: () => interaction('at the second step', { email: person.seeded.user.email, password: PASSWORD }),
    enrol: () => interaction('at enrolment', { email: enrolling.user.email, password: PASSWORD }),
    person: signedIn('signed in', person, { id: personFactor!.id }, [
      '/account',
      '/account/two-factor',
      '/account/password',
      '/account/app-passwords',
      '/account/sessions',
    ]),
    admin: signedIn('administrator, fresh sign-in', admin, { id: target.seeded.user.id, methodId: targetFactor!.id }, [
      '/admin/people/:id',
      '/admin/security',
      '/admin/invitations',
      '/admin/people/:id/access-code',
    ]),
    personToken: bearer('account API token', person, accountApp, '/api/account/security', { id: personFactor!.id }),
    adminToken: bearer('admin API token', admin, adminTool, '/api/admin/organization', {
      id: target.seeded.user.id,
      methodId: targetFactor!.id,
    }),
  };
}

export type FuzzStates = Awaited<ReturnType<typeof createFuzzStates>>;
