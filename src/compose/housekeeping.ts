import type { Logger } from 'pino';

/**
 * The app's timers: embedded mode keeps ephemeral rows in SQL and sweeps the expired ones once a
 * minute; app password uses are written in batches, off the grant's path. Neither keeps the
 * process alive; `stop` clears both.
 */
export function startHousekeeping(deps: {
  sweep(): Promise<void>;
  flushUses(): Promise<void>;
  flushSeconds: number;
  logger: Logger;
}): { stop(): void } {
  const sweeper = setInterval(() => {
    deps.sweep().catch((error: unknown) => deps.logger.warn({ err: error }, 'sweeping expired rows failed'));
  }, 60_000);
  const flusher = setInterval(() => void deps.flushUses(), deps.flushSeconds * 1000);
  sweeper.unref();
  flusher.unref();
  return {
    stop() {
      clearInterval(sweeper);
      clearInterval(flusher);
    },
  };
}
