import { processIo, runCli } from './cli/run.ts';

/**
 * `npm start`: the only module with side effects. `twofold serve` does the work:
 * config → app → migrate → listen → graceful shutdown on SIGTERM/SIGINT.
 */
process.exitCode = await runCli(['serve', ...process.argv.slice(2)], processIo());
