import { createServer, type Server } from 'node:http';
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
      ephemeral: config.redis.url ? 'redis' : 'sql',
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
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await app.close();
    })());
  return { app, server, url, setupLink, stop };
}
