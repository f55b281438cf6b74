import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Agent } from '../helpers/agent.ts';
import { authorizationRequest, discoverRp, open, submitLogin } from '../helpers/rp.ts';
import { seedClient, seedUser } from '../helpers/seed.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const TOKEN = 'metrics-token-of-at-least-32-characters';

/** Prometheus metrics (issue 11): off by default, behind a bearer token when configured. */
describe('metrics', () => {
  let withMetrics: TestServer;
  let without: TestServer;

  beforeAll(async () => {
    withMetrics = await startTestServer('sqlite', { overrides: { metrics: { token: TOKEN } } });
    without = await startTestServer('sqlite');
  });
  afterAll(async () => {
    await withMetrics?.close();
    await without?.close();
  });

  const scrape = (server: TestServer, token?: string) =>
    fetch(`${server.issuer}/metrics`, token ? { headers: { authorization: `Bearer ${token}` } } : {});

  it('answers only with the configured token, and not at all when none is configured', async () => {
    expect((await scrape(withMetrics)).status).toBe(401);
    expect((await scrape(withMetrics, `${TOKEN}x`)).status).toBe(401);
    expect((await scrape(withMetrics, TOKEN)).status).toBe(200);
    expect((await scrape(without, TOKEN)).status).toBe(404);
  });

  it('counts requests by route template and security events by type and method', async () => {
    await seedUser(withMetrics.app, { email: 'ada@example.com' });
    const rp = await discoverRp(withMetrics.issuer, await seedClient(withMetrics.app));
    const agent = new Agent();
    const request = await authorizationRequest(rp);
    const login = await open(agent, request.url, rp.redirectUri);
    await submitLogin(agent, login, 'ada@example.com', 'not the password', rp.redirectUri);
    await fetch(`${withMetrics.issuer}/admin/people/00000000-0000-0000-0000-000000000000`);

    const text = await (await scrape(withMetrics, TOKEN)).text();
    expect(text).toMatch(
      /twofold_http_request_duration_seconds_count\{method="GET",route="\/\.well-known\/openid-configuration",status="200"\} \d+/,
    );
    expect(text).toMatch(
      /twofold_http_request_duration_seconds_count\{method="POST",route="\/interaction\/:uid\/login",status="\d+"\} 1/,
    );
    // A path with an id is counted under its template, never under the id itself.
    expect(text).toContain('route="/admin/people/:id"');
    expect(text).not.toContain('00000000-0000-0000-0000-000000000000');
    expect(text).toMatch(/twofold_security_events_total\{type="signin.password_failed",method="[a-z]+"\} 1/);
    expect(text).toMatch(/twofold_process_resident_memory_bytes \d+/);
  });
});
