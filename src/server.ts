import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { createApp, type AppOptions, type TwofoldApp } from './app.ts';
import type { Config } from './config/load.ts';

export interface RunningServer {
  app: TwofoldApp;
  server: Server;
  /** The URL the server actually listens on (port 0 picks a free one). */
  url: string;
  /** The first-run link, when no organization exists yet. */
  setupLink: string | null;
  /** Stops accepting connections, lets in-flight requests finish, then closes storage. */
  stop(): Promise<void>;
}

/** Migrates, then listens; prints the one-time setup link while no organization exists. */
export async function startServer(config: Config, options: AppOptions = {}): Promise<RunningServer> {
  const app = await createApp(config, options);
  try {
    await app.migrate();
  } catch (error) {
    await app.close();
    throw error;
  }
  const server = createServer(app.koa.callback());
  // Keep-alive longer than a typical load balancer's idle timeout avoids reset races.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  app.logger.info(
    {
      url,
      issuer: config.issuer,
      storage: config.database.url ? 'postgres' : 'sqlite',
      ephemeral: config.redis.url || config.redis.cluster ? 'redis' : 'sql',
    },
    'twofold is listening',
  );

  const setupLink = await app.services.setup.issueSetupLink();
  if (setupLink) {
    // The link carries a one-time secret: it goes to the console only, never into collected logs.
    app.logger.warn('no organization exists yet: open the setup link printed on the console to create the first one');
  }

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await drain(server);
      await app.close();
    })());
  return { app, server, url, setupLink, stop };
}

/** How often, while draining, connections whose last response has gone out are closed. */
const DRAIN_SWEEP_MS = 50;

/**
 * Stops accepting connections and lets the requests in flight finish. A kept-alive connection is
 * closed as soon as it is idle: at once, or within a moment of the response it was serving (a
 * request still arriving on it is answered with `Connection: close`), so the server closes when
 * its last response is out instead of when a client's keep-alive runs out.
 */
async function drain(server: Server): Promise<void> {
  server.on('request', (_request: IncomingMessage, response: ServerResponse) => {
    if (!response.headersSent) response.setHeader('connection', 'close');
  });
  const sweep = setInterval(() => server.closeIdleConnections(), DRAIN_SWEEP_MS);
  try {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
  } finally {
    clearInterval(sweep);
  }
}
