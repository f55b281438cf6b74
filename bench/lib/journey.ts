import { createHash, createHmac, randomBytes } from 'node:crypto';

import { CookieJar, send, type Reply } from './http.ts';
import type { BenchPerson, SeededPeople } from './seed.ts';

/**
 * One complete sign-in as a browser and a relying party make it: the authorization request
 * (PKCE S256, state, nonce), the password page, the authenticator-app page, the redirect back with
 * a code, and the code exchange at the token endpoint. Redirects are followed on the node the
 * journey started on (a sticky load balancer); every page and status is checked, the ID token is
 * not verified (that is the relying party's CPU, not the server's).
 */

const base64url = (bytes: Buffer) => bytes.toString('base64url');

/** RFC 6238 code for a step (SHA-1, 6 digits), computed here as an independent authenticator. */
function totpAt(secret: Buffer, step: number): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', secret).update(counter).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

function readForm(html: string, action: RegExp): { action: string; fields: Record<string, string> } {
  for (const match of html.matchAll(/<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/g)) {
    if (!action.test(match[1]!)) continue;
    const fields: Record<string, string> = {};
    for (const input of match[2]!.matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
      const name = /name="([^"]+)"/.exec(input[0])?.[1];
      const value = /value="([^"]*)"/.exec(input[0])?.[1];
      if (name && value !== undefined) fields[name] = value.replaceAll('&amp;', '&');
    }
    return { action: match[1]!.replaceAll('&amp;', '&'), fields };
  }
  throw new Error(`no form matching ${action}: ${html.slice(0, 300)}`);
}

/**
 * People whose authenticator code for the next usable step has not been used: a step is accepted
 * once per person, and the server takes the current step ±1, so a person signs in at most twice
 * in their first 30 s and once per 30 s after. Waiting for a person is counted as starvation.
 */
export class PeoplePool {
  private next = 0;
  starvedMs = 0;
  private readonly people: BenchPerson[];
  constructor(people: BenchPerson[]) {
    this.people = people;
  }

  async take(): Promise<{ person: BenchPerson; code: string }> {
    for (;;) {
      const current = Math.floor(Date.now() / 30_000);
      for (let tried = 0; tried < this.people.length; tried++) {
        const person = this.people[this.next]!;
        this.next = (this.next + 1) % this.people.length;
        const step = Math.max(person.lastStep + 1, current);
        if (step <= current + 1) {
          person.lastStep = step;
          return { person, code: totpAt(person.secret, step) };
        }
      }
      const started = performance.now();
      await new Promise((resolve) => setTimeout(resolve, 50));
      this.starvedMs += performance.now() - started;
    }
  }
}

export function createJourney(seeded: SeededPeople, pool: PeoplePool) {
  const { rp } = seeded;
  const basic = `Basic ${Buffer.from(`${rp.clientId}:${rp.clientSecret}`).toString('base64')}`;

  return async function journey(node: URL, issuer: string): Promise<void> {
    const jar = new CookieJar();
    const onNode = (location: string, from: URL) => {
      const url = new URL(location, from);
      if (url.origin === new URL(issuer).origin) return new URL(url.pathname + url.search, node);
      return url;
    };
    const get = async (url: URL) => {
      const reply = await send(url, { headers: { accept: 'text/html', cookie: jar.header(url) } });
      jar.store(reply, url);
      return reply;
    };
    const post = async (url: URL, form: Record<string, string>) => {
      const reply = await send(url, { form, headers: { accept: 'text/html', cookie: jar.header(url) } });
      jar.store(reply, url);
      return reply;
    };
    /** Follows redirects until a page answers or the next hop is the client's redirect URI. */
    const follow = async (reply: Reply, from: URL): Promise<{ reply: Reply; url: URL }> => {
      let url = from;
      for (let hops = 0; hops < 10; hops++) {
        if (reply.status < 300 || reply.status >= 400 || !reply.location) return { reply, url };
        if (reply.location.startsWith(rp.redirectUri)) return { reply, url: new URL(reply.location) };
        url = onNode(reply.location, url);
        reply = await get(url);
      }
      throw new Error('too many redirects');
    };

    const verifier = base64url(randomBytes(32));
    const state = base64url(randomBytes(16));
    const authorize = new URL('/auth', node);
    authorize.search = new URLSearchParams({
      client_id: rp.clientId,
      redirect_uri: rp.redirectUri,
      response_type: 'code',
      scope: 'openid email profile',
      code_challenge: base64url(createHash('sha256').update(verifier).digest()),
      code_challenge_method: 'S256',
      state,
      nonce: base64url(randomBytes(16)),
    }).toString();
    let page = await follow(await get(authorize), authorize);
    if (page.reply.status !== 200) throw new Error(`authorization answered ${page.reply.status}`);

    const { person, code } = await pool.take();
    const login = readForm(page.reply.body, /\/login$/);
    const loginUrl = new URL(login.action, page.url);
    page = await follow(
      await post(loginUrl, { ...login.fields, email: person.email, password: seeded.password }),
      loginUrl,
    );
    if (page.reply.status !== 200) throw new Error(`password step answered ${page.reply.status}`);

    const verify = readForm(page.reply.body, /\/verify\/totp$/);
    const factorId = /name="factorId" value="([^"]+)"/.exec(page.reply.body)?.[1] ?? verify.fields.factorId ?? '';
    const verifyUrl = new URL(verify.action, page.url);
    page = await follow(await post(verifyUrl, { ...verify.fields, factorId, code }), verifyUrl);
    const callback = page.url;
    if (!callback.href.startsWith(rp.redirectUri)) throw new Error(`TOTP step ended at ${callback.href}`);
    if (callback.searchParams.get('state') !== state) throw new Error('state mismatch');
    const authorizationCode = callback.searchParams.get('code');
    if (!authorizationCode) throw new Error(`no code: ${callback.search}`);

    const tokenUrl = new URL('/token', node);
    const reply = await send(tokenUrl, {
      headers: { authorization: basic, accept: 'application/json' },
      form: {
        grant_type: 'authorization_code',
        code: authorizationCode,
        redirect_uri: rp.redirectUri,
        code_verifier: verifier,
      },
    });
    if (reply.status !== 200 || !reply.body.includes('"id_token"'))
      throw new Error(`code exchange answered ${reply.status}: ${reply.body.slice(0, 200)}`);
  };
}
