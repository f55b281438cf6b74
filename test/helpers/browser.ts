import { existsSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';

import { IN_CI } from './backends.ts';
import { startTestServer, type Backend, type TestServer } from './server.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Why browser tests are skipped on this machine (throws under CI=true: CI must run them). */
export function browserSkipReason(): string | null {
  if (existsSync(CHROMIUM)) return null;
  if (IN_CI) throw new Error(`CI=true but Chromium is missing at ${CHROMIUM} (apt-get install chromium)`);
  console.warn(`SKIPPED: browser tests (no Chromium at ${CHROMIUM}; apt-get install chromium)`);
  return 'chromium not installed';
}

/** Debian's Chromium, headless, with the network chatter this sandbox refuses turned off. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * A browser suite's test server and Chromium: started together before its tests (each takes a
 * while) and closed after them. `server` and `browser` are getters because they start in
 * beforeAll; call this before the suite's own beforeAll, which then runs after it and can seed.
 */
export function useServerAndBrowser(backend: Backend, options?: Parameters<typeof startTestServer>[1]) {
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    [server, browser] = await Promise.all([startTestServer(backend, options), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });
  return {
    get server() {
      return server;
    },
    get browser() {
      return browser;
    },
  };
}

const SHOTS = path.resolve('screenshots');

/** Saves a full-page screenshot under screenshots/ (git-ignored) for people to look at. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/**
 * Chromium's virtual authenticator (CDP WebAuthn domain) for the page's context: a security key
 * that keeps resident keys and verifies the user, so it also signs in as a passkey.
 */
export async function addVirtualPasskey(context: BrowserContext, page: Page): Promise<void> {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'usb',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
}
