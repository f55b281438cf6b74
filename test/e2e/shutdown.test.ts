import http from 'node:http';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';

import { startTwofoldProcess } from '../helpers/twofold-process.ts';

/** A response read in full, with the connection header the server sent. */
function collect(request: http.ClientRequest): Promise<{ status: number; connection: string; body: string }> {
  return new Promise((resolve, reject) => {
    request.on('error', reject);
    request.on('response', (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode!, connection: String(response.headers.connection), body }),
      );
    });
  });
}

const closed = (socket: Socket) => new Promise<void>((resolve) => socket.once('close', () => resolve()));

/**
 * Issue 11: SIGTERM drains in-flight requests and closes connections cleanly. Kept-alive
 * connections used to hold the server open until the 10 s fallback, which exits with code 1.
 */
describe('stopping the server with SIGTERM (node src/main.ts)', () => {
  it('closes an idle kept-alive connection at once, lets the request in flight finish, and exits 0', async () => {
    const server = await startTwofoldProcess({ LOG_LEVEL: 'warn' });
    const { hostname, port } = new URL(server.url);
    // Two kept-alive connections: one idle at the signal, one with a request in flight.
    const [agent, busyAgent] = [new http.Agent({ keepAlive: true }), new http.Agent({ keepAlive: true })];
    try {
      // A browser's kept-alive connection, idle after its first request.
      const idleRequest = http.get({ host: hostname, port, path: '/healthz', agent });
      const idleSocket = new Promise<Socket>((resolve) => idleRequest.once('socket', resolve));
      const first = await collect(idleRequest);
      expect([first.status, first.connection]).toEqual([200, 'keep-alive']);
      const idleClosed = closed(await idleSocket);

      // A request in flight: its headers are in, its body is still on the way.
      const body = 'grant_type=client_credentials&client_id=nobody&client_secret=nothing';
      const inFlight = http.request({
        host: hostname,
        port,
        path: '/token',
        method: 'POST',
        // Once answered, this kept-alive connection must not hold the server open either.
        agent: busyAgent,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': body.length },
      });
      const answered = collect(inFlight);
      inFlight.write(body.slice(0, 20));
      await new Promise((resolve) => setTimeout(resolve, 300));

      const stoppedAt = Date.now();
      server.child.kill('SIGTERM');
      await idleClosed;
      expect(server.child.exitCode).toBeNull();

      inFlight.end(body.slice(20));
      const last = await answered;
      expect(last.status).toBe(401);
      expect(JSON.parse(last.body)).toMatchObject({ error: 'invalid_client' });

      expect(await server.exited).toBe(0);
      // Well before the 10 s fallback, which would exit with code 1.
      expect(Date.now() - stoppedAt).toBeLessThan(8000);
      expect(server.output()).not.toMatch(/"level":50/);
    } finally {
      agent.destroy();
      busyAgent.destroy();
      await server.stop();
    }
  });
});
