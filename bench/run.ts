/**
 * Benchmarks (npm run bench): sign-in cost is bounded by the password hash, so everything is
 * reported as a ratio to one argon2id verification measured in the same run.
 *   signin/verify   a whole password sign-in POST (throttle, lookup, hash, audit, interaction) per verify
 *   discovery       a discovery document request, as a fraction of a verify
 *   token           a code exchange at the token endpoint, as a fraction of a verify
 *   totp step       the second step (an authenticator code) after the password, as a fraction of a verify
 *   legacy grant    app-password grants (and grant + introspection pairs) per second against the
 *                   provider's own client_credentials grant, 8 in flight (target 0.85)
 */
import { hash, verify } from '@node-rs/argon2';

import { Agent, readForm } from '../test/helpers/agent.ts';
import { authorizationRequest, discoverRp, exchange, open } from '../test/helpers/rp.ts';
import { PASSWORD, seedClient, seedUser } from '../test/helpers/seed.ts';
import { createTestClock, startTestServer } from '../test/helpers/server.ts';
import { secretFromUri, totpAt } from '../test/helpers/totp.ts';
import { benchLegacyGrant } from './legacy-grant.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30);

async function mean(rounds: number, fn: () => Promise<void>, prepare?: () => Promise<void>): Promise<number> {
  let total = 0;
  for (let i = 0; i < rounds; i++) {
    await prepare?.();
    const started = performance.now();
    await fn();
    total += performance.now() - started;
  }
  return total / rounds;
}

const clock = createTestClock();
const server = await startTestServer('sqlite', {
  clock,
  overrides: {
    throttle: {
      account: { freeAttempts: 10_000, windowSeconds: 60, maxDelaySeconds: 1 },
      ip: { freeAttempts: 10_000, windowSeconds: 60, maxDelaySeconds: 1 },
    },
  },
});
try {
  await seedUser(server.app, { email: 'bench@example.com' });
  const rp = await discoverRp(server.issuer, await seedClient(server.app, { firstParty: true }));
  const stored = await hash(PASSWORD, { algorithm: 2, ...server.app.config.passwords.argon2 });

  const verifyMs = await mean(ROUNDS, async () => void (await verify(stored, PASSWORD)));

  let pending: { agent: Agent; url: URL; csrf: string } | undefined;
  const signinMs = await mean(
    ROUNDS,
    async () => {
      const { agent, url, csrf } = pending!;
      const response = await agent.request(url, {
        form: { _csrf: csrf, email: 'bench@example.com', password: PASSWORD },
      });
      if (response.status !== 303) throw new Error(`sign-in failed: ${response.status}`);
    },
    async () => {
      const agent = new Agent();
      const request = await authorizationRequest(rp);
      const page = await open(agent, request.url, rp.redirectUri);
      const form = readForm(await page.response.text(), /\/login$/);
      pending = { agent, url: new URL(form.action, page.url), csrf: form.csrf };
    },
  );

  const discoveryMs = await mean(
    ROUNDS * 10,
    async () => void (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).arrayBuffer()),
  );

  const agent = new Agent();
  let code: { callback: URL; request: Awaited<ReturnType<typeof authorizationRequest>> } | undefined;
  const tokenMs = await mean(
    ROUNDS,
    async () => void (await exchange(rp, code!.callback, code!.request)),
    async () => {
      const request = await authorizationRequest(rp);
      let page = await open(agent, request.url, rp.redirectUri);
      if (!page.url.href.startsWith(rp.redirectUri)) {
        const form = readForm(await page.response.text(), /\/login$/);
        const target = new URL(form.action, page.url);
        page = await agent.follow(
          await agent.request(target, { form: { _csrf: form.csrf, email: 'bench@example.com', password: PASSWORD } }),
          target,
          (u) => u.href.startsWith(rp.redirectUri),
        );
      }
      code = { callback: page.url, request };
    },
  );

  // The second step: a person with an authenticator app; the clock moves one step per round.
  const tfa = await seedUser(server.app, { email: 'bench-tfa@example.com' });
  const person = { orgId: tfa.org.id, userId: tfa.user.id, email: tfa.user.email };
  const totp = server.app.factors.registry.get('totp')!;
  const context = { binding: 'bench', ip: '127.0.0.1' };
  const begun = await totp.enrolment!.begin(person, totp.input.parse({ label: 'bench' }), context);
  if (!begun.ok) throw new Error(`totp enrolment refused: ${begun.message}`);
  const enrolment = { factorId: String(begun.model.factorId), uri: String(begun.model.uri) };
  const secret = secretFromUri(enrolment.uri);
  const confirmed = await totp.enrolment!.confirm(
    person,
    totp.input.parse({ factorId: enrolment.factorId, code: totpAt(secret, clock.now() / 1000) }),
    context,
  );
  if (!confirmed.ok) throw new Error(`totp confirmation refused: ${confirmed.message}`);
  let step: { agent: Agent; url: URL; csrf: string } | undefined;
  const totpMs = await mean(
    ROUNDS,
    async () => {
      const { agent, url, csrf } = step!;
      const response = await agent.request(url, {
        form: { _csrf: csrf, factorId: enrolment.factorId, code: totpAt(secret, clock.now() / 1000) },
      });
      if (response.status !== 303) throw new Error(`second step failed: ${response.status}`);
    },
    async () => {
      clock.advance(30_000);
      const agent = new Agent();
      const request = await authorizationRequest(rp);
      const page = await open(agent, request.url, rp.redirectUri);
      const form = readForm(await page.response.text(), /\/login$/);
      const target = new URL(form.action, page.url);
      const next = await agent.follow(
        await agent.request(target, { form: { _csrf: form.csrf, email: tfa.user.email, password: PASSWORD } }),
        target,
      );
      const verify = readForm(await next.response.text(), /\/verify\/totp$/);
      step = { agent, url: new URL(verify.action, next.url), csrf: verify.csrf };
    },
  );

  const legacy = await benchLegacyGrant(server, { total: ROUNDS * 20, concurrency: 8, nowMs: clock.now() });

  const rssMiB = process.memoryUsage().rss / 2 ** 20;
  const row = (name: string, ms: number, ratio: number) =>
    `${name.padEnd(16)} ${ms.toFixed(2).padStart(8)} ms   ${ratio.toFixed(2).padStart(6)} x verify`;
  process.stdout.write(
    [
      `twofold bench: ${ROUNDS} rounds, argon2id m=${server.app.config.passwords.argon2.memoryCost} t=${server.app.config.passwords.argon2.timeCost}, SQLite`,
      row('argon2 verify', verifyMs, 1),
      row('password sign-in', signinMs, signinMs / verifyMs),
      row('code exchange', tokenMs, tokenMs / verifyMs),
      row('totp step', totpMs, totpMs / verifyMs),
      row('discovery', discoveryMs, discoveryMs / verifyMs),
      `sign-in overhead around the hash: ${((signinMs / verifyMs - 1) * 100).toFixed(0)}%   rss ${rssMiB.toFixed(0)} MiB`,
      '',
      `legacy grant (8 in flight)        per second   ratio to client_credentials   target`,
      `client_credentials grant        ${legacy.clientCredentialsPerSecond.toFixed(0).padStart(8)}`,
      `app-password grant              ${legacy.passwordGrantsPerSecond.toFixed(0).padStart(8)}   ${legacy.grantRatio.toFixed(2).padStart(27)}   >= 0.85`,
      `grant + introspection pair      ${legacy.grantAndIntrospectionPairsPerSecond.toFixed(0).padStart(8)}   ${legacy.pairRatio.toFixed(2).padStart(27)}   >= 0.85 (two requests against two grants)`,
      JSON.stringify({ legacy }),
      '',
    ].join('\n'),
  );
} finally {
  await server.close();
}
