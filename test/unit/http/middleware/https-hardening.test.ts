import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { describe, expect, it } from 'vitest';

import { createCsrf } from '../../../../src/http/middleware/csrf.ts';
import { securityHeaders } from '../../../../src/http/middleware/security-headers.ts';
import { createCryptoRandom } from '../../../../src/ports/random.ts';
import { trustCookieName } from '../../../../src/http/routes/interaction-support.ts';

/** Serves one Koa app behind a TLS-terminating proxy (X-Forwarded-Proto: https) for one request. */
async function requestThrough(app: Koa): Promise<Response> {
  app.proxy = true;
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    return await fetch(`http://127.0.0.1:${port}/`, { headers: { 'x-forwarded-proto': 'https' } });
  } finally {
    server.close();
  }
}

describe('https hardening (issue 8)', () => {
  it('sends Strict-Transport-Security when the issuer is https, and not when it is http', async () => {
    const page = (issuer: string) =>
      new Koa().use(securityHeaders({ authorizationPath: '/auth', issuer })).use((ctx) => {
        ctx.body = 'ok';
      });
    const secure = await requestThrough(page('https://id.example.com'));
    expect(secure.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    expect((await requestThrough(page('http://localhost:3000'))).headers.get('strict-transport-security')).toBeNull();
  });

  it('over https the CSRF cookie is __Host- (a sibling subdomain cannot toss in a value of its choosing)', async () => {
    const csrf = createCsrf({ key: 'k'.repeat(32), random: createCryptoRandom(), secureCookies: true });
    const app = new Koa().use((ctx) => {
      ctx.body = csrf.tokenFor(ctx);
    });
    const cookie = (await requestThrough(app)).headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^__Host-twofold\.csrf=[A-Za-z0-9_-]{43}; path=\/; samesite=lax; secure; httponly$/);
  });
});

describe('the trusted-browser cookie', () => {
  it('is a __Host- cookie over https, so a sibling subdomain cannot set or shadow it', () => {
    expect(trustCookieName(true)).toBe('__Host-twofold.trusted');
    expect(trustCookieName(false)).toBe('twofold.trusted');
  });
});
