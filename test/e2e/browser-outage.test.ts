import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { skipReason } from '../helpers/backends.ts';
import { browserSkipReason, launchChromium, screenshot } from '../helpers/browser.ts';
import { startServerBehindProxies, waitUntilReady, type ServerBehindProxies } from '../helpers/outages.ts';
import { authorizationRequest, discoverRp, type RelyingParty } from '../helpers/rp.ts';
import { seedClient } from '../helpers/seed.ts';

const skip = browserSkipReason() !== null || (skipReason('postgres') ?? skipReason('redis')) !== null;

/** Issue 11: what a person sees while Redis is down, in real Chromium on a desktop and a phone. */
describe.skipIf(skip)('the page shown during an outage, in Chromium', () => {
  let env: ServerBehindProxies;
  let browser: Browser;
  let rp: RelyingParty;

  beforeAll(async () => {
    [env, browser] = await Promise.all([startServerBehindProxies(), launchChromium()]);
    rp = await discoverRp(env.server.issuer, await seedClient(env.server.app, { firstParty: true }));
  });
  afterAll(async () => {
    await browser?.close();
    await env?.close();
  });

  for (const [device, viewport] of [
    ['desktop', { width: 1280, height: 800 }],
    ['phone', { width: 390, height: 844 }],
  ] as const) {
    it(`says calmly to try again in a moment, on the sign-in page and the provider's own (${device})`, async () => {
      const page = await browser.newPage({ viewport });
      try {
        // A sign-in begun before the outage, reloaded during it (our page) ...
        await page.goto((await authorizationRequest(rp)).url.href);
        await expect.poll(() => page.url()).toContain('/interaction/');
        await env.redis.refuse();
        const reloaded = await page.reload();
        expect(reloaded?.status()).toBe(503);
        expect(reloaded?.headers()['retry-after']).toBeDefined();
        await expect.poll(() => page.locator('h1').textContent()).toBe('Briefly unavailable');
        expect(await page.locator('[role=alert]').textContent()).toContain('try again in a few seconds');
        await screenshot(page, `outage-sign-in-${device}`);

        // ... and a new authorization request (oidc-provider's page).
        const started = await page.goto((await authorizationRequest(rp)).url.href);
        expect(started?.status()).toBe(503);
        await expect.poll(() => page.locator('h1').textContent()).toBe('Briefly unavailable');
        await screenshot(page, `outage-authorization-${device}`);
      } finally {
        await env.redis.restore();
        await waitUntilReady(env.server.issuer);
        await page.close();
      }
    });
  }
});
