import { ConfigError, loadConfig } from './config/load.ts';
import { startServer } from './server.ts';

/** `npm start`: the only module with side effects. Config → app → listen → graceful shutdown. */
async function main(): Promise<void> {
  const config = loadConfig({ env: process.env, cwd: process.cwd() });
  const running = await startServer(config);
  if (running.setupLink) {
    process.stdout.write(`\nNo organization exists yet. Create the first one here (valid for ${Math.round(config.setup.linkTtlSeconds / 60)} minutes, one use):\n\n  ${running.setupLink}\n\n`);
  }
  const shutdown = (signal: string) => {
    running.app.logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        running.app.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  const message = error instanceof ConfigError ? error.message : `twofold could not start: ${(error as Error).message}`;
  process.stderr.write(`${message}\n`);
  process.exit(1);
});
