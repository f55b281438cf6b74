import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { describe, expect, it } from 'vitest';

import { allowImageFrom, securityHeaders } from '../../../../src/http/middleware/security-headers.ts';

/** The CSP of one HTML page that asked to show images from `urls`. */
async function cspOfPageShowing(urls: string[]): Promise<string> {
  const app = new Koa().use(securityHeaders({ authorizationPath: '/auth' })).use((ctx) => {
    for (const url of urls) allowImageFrom(ctx, url);
    ctx.type = 'html';
    ctx.body = '<p>page</p>';
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    return (await fetch(`http://127.0.0.1:${port}/`)).headers.get('content-security-policy')!;
  } finally {
    server.close();
  }
}

describe("the CSP of a page with an organization's logo", () => {
  it("widens img-src by the logo's origin alone, once", async () => {
    const csp = await cspOfPageShowing(['https://cdn.acme.example/a/logo.svg?v=2', 'https://cdn.acme.example/b.png']);
    expect(csp).toContain("img-src 'self' data: https://cdn.acme.example;");
    expect(csp).toContain("script-src 'self';");
  });

  it('keeps img-src to itself on pages without one', async () => {
    expect(await cspOfPageShowing([])).toContain("img-src 'self' data:;");
  });

  it('never lets an address add a source or a directive (an injected policy)', async () => {
    const csp = await cspOfPageShowing([
      'https://cdn.acme.example;script-src *;/x.png',
      'https://a%3Bb.example/x.png',
      "https://a'b.example/x.png",
      'http://cdn.acme.example/x.png',
      'data:image/png;base64,AAAA',
      'not a url',
    ]);
    expect(csp).toContain("img-src 'self' data:;");
    expect(csp).not.toContain('*');
  });
});
