import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Agent, readForm } from '../helpers/agent.ts';
import { createTestClock } from '../helpers/clock.ts';
import { factorDriver } from '../helpers/factors.ts';
import { authorizationRequest, discoverRp, open, submitLogin, type RelyingParty } from '../helpers/rp.ts';
import { enrolTotp, seedClient, seedUser } from '../helpers/seed.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const TIMEOUT_MS = 1000;
/** A few times the timeout: generous for a loaded machine, far below a gateway that never answers. */
const BOUND_MS = 8 * TIMEOUT_MS;

interface Received {
  channel: string;
  to: string;
  code: string;
}

/**
 * A phone gateway on a real loopback port: it reads every request (so the test sees what was sent)
 * and either answers 200 or, while `hang` is set, keeps the connection open and never answers.
 */
async function fakeGateway() {
  const received: Received[] = [];
  const state = { hang: false };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Received);
      if (!state.hang) response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/sms`,
    received,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Issue 8: "SMS and voice sending does not hold a sign-in request for 20 s when the webhook is slow:
 * a short timeout, then 'use another method', with retries off the request path." Through the real
 * server and its webhook sender, against a gateway that accepts the connection and never answers.
 */
describe('a phone gateway that never answers', () => {
  const clock = createTestClock();
  let gateway: Awaited<ReturnType<typeof fakeGateway>>;
  let server: TestServer;
  let rp: RelyingParty;

  beforeAll(async () => {
    gateway = await fakeGateway();
    server = await startTestServer('sqlite', {
      clock,
      overrides: {
        delivery: {
          driver: 'webhook',
          webhook: { url: gateway.url, secret: 's'.repeat(32), timeoutMs: TIMEOUT_MS, retries: 1 },
        },
      },
    });
    rp = await discoverRp(server.issuer, await seedClient(server.app));
  });
  afterAll(async () => {
    await server?.close();
    await gateway?.close();
  });

  it.each([
    ['sms', '+14155550111'],
    ['voice', '+14155550112'],
  ] as const)(
    '%s: the second step answers within a few timeouts, offers the other methods, and retries in the background',
    async (kind, number) => {
      const seeded = await seedUser(server.app, { email: `${kind}-slow@example.com` });
      const person = { orgId: seeded.org.id, userId: seeded.user.id, email: seeded.user.email };
      await enrolTotp(server.app, seeded, clock.now());
      // Enrolled while the gateway still answers: the code it received confirms the number.
      gateway.state.hang = false;
      const factors = factorDriver(server.app);
      const { factorId } = await factors.beginPhone(person, kind, number, null, 'enrol', '127.0.0.1');
      const enrolCode = gateway.received.filter((m) => m.to === number).at(-1)!.code;
      expect((await factors.confirmPhone(person, kind, factorId, enrolCode, 'enrol')).ok).toBe(true);

      gateway.state.hang = true;
      const agent = new Agent();
      const request = await authorizationRequest(rp);
      await submitLogin(
        agent,
        await open(agent, request.url, rp.redirectUri),
        seeded.user.email,
        seeded.password,
        rp.redirectUri,
      );
      const uid = agent.cookies.find((c) => c.name === '_interaction')!.value;
      const stepUrl = new URL(`/interaction/${uid}/verify?method=${factorId}`, server.issuer);
      const step = await agent.request(stepUrl);
      const form = readForm(await step.text(), /\/verify\/[a-z]+\/challenge$/);
      const target = new URL(form.action, stepUrl);
      const before = gateway.received.length;

      const started = performance.now();
      const answer = await agent.request(target, { form: { _csrf: form.csrf, factorId } });
      const elapsed = performance.now() - started;

      expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS * 0.9);
      expect(elapsed).toBeLessThan(BOUND_MS);
      expect(answer.status).toBe(503);
      const html = await answer.text();
      expect(html).toContain('The code could not be sent just now. Try again in a moment, or use another method.');
      // The other methods are open on the page, the authenticator app among them.
      expect(html).toContain('<details class="other-methods" open>');
      expect(html).toMatch(/href="\/interaction\/[^"]+\/verify\?method=[^"]+">Authenticator app/);
      // The gateway got the first try, and the retry comes later, off the request path.
      expect(gateway.received.length).toBeGreaterThanOrEqual(before + 1);
      await expect.poll(() => gateway.received.length, { timeout: BOUND_MS, interval: 100 }).toBe(before + 2);
      expect(gateway.received.at(-1)).toMatchObject({ channel: kind, to: number });
    },
  );
});
