import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';

import { healthRoutes } from '../../../../src/http/routes/health.ts';
import type { ReadinessCheck } from '../../../../src/ports/readiness.ts';

let server: Server | undefined;
afterEach(() => server?.close());

async function serve(checks: ReadinessCheck[]): Promise<string> {
  const app = new Koa();
  app.use(healthRoutes({ checks, timeoutMs: 200 }).routes());
  server = createServer(app.callback());
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('health endpoints', () => {
  it('reports ready when every dependency answers', async () => {
    const url = await serve([
      { name: 'database', check: async () => {} },
      { name: 'redis', check: async () => {} },
    ]);
    const response = await fetch(`${url}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ready', checks: { database: 'ok', redis: 'ok' } });
  });

  it('answers 503 naming the dependency that fails or hangs, while /healthz stays up', async () => {
    const url = await serve([
      { name: 'database', check: async () => {} },
      { name: 'redis', check: () => new Promise(() => {}) },
      {
        name: 'other',
        check: async () => {
          throw new Error('down');
        },
      },
    ]);
    const response = await fetch(`${url}/readyz`);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      status: 'unavailable',
      checks: { database: 'ok', redis: 'unavailable', other: 'unavailable' },
    });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });
});
