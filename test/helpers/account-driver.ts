import { createHash, randomBytes } from 'node:crypto';
import { expect } from 'vitest';

import { ACCOUNT_CLIENT_ID } from '../../src/oidc/account-client.ts';
import { Agent, readForm } from './agent.ts';
import type { TestClock } from './clock.ts';
import { enrolTotp, PASSWORD, seedUser, type Seeded } from './seed.ts';
import type { TestServer } from './server.ts';
import { factorDriver } from './factors.ts';
import { readOutbox, totpAt } from './totp.ts';

export type Page = { response: Response; url: URL };
export type Form = Record<string, string | string[]>;

/** Someone who signs in; the test knows their password and their authenticator seed. */
export interface Member {
  seeded: Seeded;
  password: string;
  secret: Buffer | null;
  lastStep: number;
}

export const USER_AGENTS = {
  firefoxOnLinux: 'Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0',
  chromeOnWindows:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36',
  safariOnMacos:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15',
};

/** A browser with its own User-Agent, so that the sessions page can tell browsers apart. */
export class Browser extends Agent {
  csrf: string | null = null;
  userAgent = USER_AGENTS.firefoxOnLinux;
  override request(target: string | URL, options: Parameters<Agent['request']>[1] = {}): Promise<Response> {
    return super.request(target, { ...options, headers: { 'user-agent': this.userAgent, ...options.headers } });
  }
}

export const browserOn = (userAgent: string) => Object.assign(new Browser(), { userAgent });

/**
 * Drives the account pages as a person would: sign-in through the provider pages (password, then
 * the authenticator code), posts with the page's CSRF token, and direct set-up of factors.
 * `server` is a getter because test servers start in beforeAll.
 */
export function createAccountDriver(deps: { server: () => TestServer; clock: Pick<TestClock, 'now' | 'advance'> }) {
  const { clock } = deps;
  const app = () => deps.server().app;
  const url = (path: string) => new URL(path, deps.server().issuer);
  const open = async (b: Browser, path: string): Promise<Page> => b.follow(await b.request(url(path)), url(path));
  const page = async (b: Browser, path: string) => (await open(b, path)).response.text();
  const person = (m: Member) => ({ orgId: m.seeded.org.id, userId: m.seeded.user.id, email: m.seeded.user.email });
  const factorsOf = (m: Member) => app().factors.store.findFactors(m.seeded.org.id, m.seeded.user.id);
  const preferredOf = (m: Member) => app().factors.store.findPreferredFactorId(m.seeded.org.id, m.seeded.user.id);
  const lastMessage = () => readOutbox(deps.server().environment.config.dataDir).at(-1)!;
  const member = async (email: string, slug = 'acme'): Promise<Member> => ({
    seeded: await seedUser(app(), { email, slug }),
    password: PASSWORD,
    secret: null,
    lastStep: 0,
  });
  const redirect = (response: Response) => `${response.status} ${response.headers.get('location')}`;

  /** Moves the clock to a time step the member has not used yet (RFC 6238 §5.2: a step is accepted once). */
  function nextStep(m: Member): number {
    if (Math.floor(clock.now() / 30_000) <= m.lastStep) clock.advance((m.lastStep + 1) * 30_000 - clock.now());
    m.lastStep = Math.floor(clock.now() / 30_000);
    return clock.now();
  }

  /** A code at a time step the member has not used yet. */
  const nextCode = (m: Member): string => totpAt(m.secret!, nextStep(m) / 1000);

  /** An authenticator app (and a text-message number), made directly, and ten recovery codes. */
  async function withFactors(m: Member, phone?: string): Promise<void> {
    m.secret = (await enrolTotp(app(), m.seeded, nextStep(m), 'Phone')).secret;
    if (phone) {
      const factors = factorDriver(app());
      const { factorId } = await factors.beginPhone(person(m), 'sms', phone, 'Work phone', 'seed', '203.0.113.9');
      expect((await factors.confirmPhone(person(m), 'sms', factorId, lastMessage().code, 'seed')).ok).toBe(true);
    }
    await app().factors.recovery.regenerate(person(m));
  }

  /** Drives the provider's sign-in pages: password, then the authenticator code when asked. */
  async function authenticate(
    b: Browser,
    m: Member,
    start: Page,
    trust = false,
  ): Promise<{ page: Page; steps: string[] }> {
    const steps: string[] = [];
    let current = start;
    for (let i = 0; i < 4 && current.response.ok && current.url.pathname.startsWith('/interaction/'); i++) {
      const html = await current.response.text();
      const login = /\/login"/.test(html);
      // A relying party that is not first-party asks the person to allow it.
      const consent = !login && /\/confirm"/.test(html);
      steps.push(login ? 'password' : consent ? 'consent' : 'second-factor');
      // The second step may open on another method: the authenticator app is always at verify/totp.
      const form = readForm(html, login ? /\/login$/ : consent ? /\/confirm$/ : /\/verify\/[a-z]+(\/challenge)?$/);
      if (!login && !consent) form.action = `${current.url.pathname}/totp`;
      const totpId = (await factorsOf(m)).find((f) => f.active && f.kind === 'totp')?.id ?? '';
      const fields: Form = login
        ? { email: m.seeded.user.email, password: m.password }
        : consent
          ? {}
          : { factorId: totpId, code: nextCode(m), ...(trust ? { trust: 'on' } : {}) };
      const target = new URL(form.action, current.url);
      current = await b.follow(await b.request(target, { form: { _csrf: form.csrf, ...fields } }), target);
    }
    return { page: current, steps };
  }

  /** Signs in to /account; returns the overview page. */
  async function signIn(b: Browser, m: Member, trust = false): Promise<string> {
    const { page: landed } = await authenticate(b, m, await open(b, '/account'), trust);
    expect(landed.url.pathname).toBe('/account');
    return landed.response.text();
  }

  const csrfOf = async (b: Browser) => (b.csrf ??= /name="_csrf" value="([^"]+)"/.exec(await page(b, '/account'))![1]!);
  const post = async (b: Browser, path: string, form: Form = {}) =>
    b.request(url(path), { method: 'POST', form: { _csrf: await csrfOf(b), ...form } });

  /** prompt=none for the account client: a code while the provider session lives, login_required after. */
  async function silentSignIn(b: Browser): Promise<URLSearchParams> {
    const challenge = createHash('sha256').update(randomBytes(32)).digest('base64url');
    const query = {
      client_id: ACCOUNT_CLIENT_ID,
      response_type: 'code',
      scope: 'openid',
      prompt: 'none',
      state: 'silent',
      redirect_uri: `${deps.server().issuer}/account/callback`,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    };
    const target = url(`/auth?${new URLSearchParams(query)}`);
    return (await b.follow(await b.request(target), target, (next) => next.pathname === '/account/callback')).url
      .searchParams;
  }

  return {
    url,
    open,
    page,
    person,
    factorsOf,
    preferredOf,
    lastMessage,
    member,
    redirect,
    nextCode,
    withFactors,
    authenticate,
    signIn,
    csrfOf,
    post,
    silentSignIn,
  };
}
