import { parseArgs } from 'node:util';
import pino from 'pino';

import { createApp, type TwofoldApp } from '../app.ts';
import { ConfigError, loadConfig, type Config } from '../config/load.ts';
import { AppError } from '../domain/errors.ts';
import { createLogger } from '../logger.ts';
import { DuplicateError, EmailTakenError } from '../ports/stores.ts';
import { COMMANDS, USAGE } from './commands.ts';
import type { CommandContext, CommandResult } from './values.ts';
import type { CliIo } from './io.ts';
import { UsageError } from './usage-error.ts';

// Callers of runCli (the e2e tests) name the io it takes from the CLI's entry point.
export type { CliIo } from './io.ts';

/** The real process as CLI input and output (calling this has no side effects by itself). */
export function processIo(): CliIo {
  return {
    env: process.env,
    cwd: () => process.cwd(),
    stdout: process.stdout,
    stderr: process.stderr,
    async readStdin() {
      if (process.stdin.isTTY)
        throw new UsageError('pipe the password on stdin, e.g. printf %s "$PASSWORD" | twofold user create …');
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of process.stdin) {
        size += (chunk as Buffer).length;
        if (size > 64 * 1024) throw new UsageError('stdin is too large for a password');
        chunks.push(chunk as Buffer);
      }
      return Buffer.concat(chunks).toString('utf8');
    },
    onShutdownSignal(handler) {
      const once = (signal: NodeJS.Signals) => {
        // A stuck shutdown must not hang an orchestrator: give in-flight requests 10 s.
        setTimeout(() => process.exit(1), 10_000).unref();
        handler(signal);
      };
      process.once('SIGTERM', once);
      process.once('SIGINT', once);
    },
  };
}

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  name: { type: 'string' },
  'enforce-tfa': { type: 'boolean' },
  'trusted-browser-days': { type: 'string' },
  'password-min-length': { type: 'string' },
  org: { type: 'string' },
  email: { type: 'string' },
  phone: { type: 'string' },
  role: { type: 'string' },
  'password-stdin': { type: 'boolean' },
  id: { type: 'string' },
  'redirect-uri': { type: 'string', multiple: true },
  'post-logout-redirect-uri': { type: 'string', multiple: true },
  public: { type: 'boolean' },
  'first-party': { type: 'boolean' },
  'account-api': { type: 'boolean' },
  'admin-api': { type: 'boolean' },
  grant: { type: 'string', multiple: true },
  'auth-method': { type: 'string' },
  introspection: { type: 'boolean' },
  'no-enforce-tfa': { type: 'boolean' },
  search: { type: 'string' },
  tfa: { type: 'string' },
  scope: { type: 'string', multiple: true },
  'forward-auth': { type: 'boolean' },
  'app-passwords': { type: 'string' },
  'legacy-password-access': { type: 'boolean' },
  'keep-app-passwords': { type: 'boolean' },
  'application-type': { type: 'string' },
  'tfa-grace-days': { type: 'string' },
  'allowed-methods': { type: 'string' },
  'phishing-resistant': { type: 'string' },
  'default-country': { type: 'string' },
} as const;

function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message, { exitCode: 2 });
  }
}

function messageOf(error: unknown): { text: string; code: number } {
  if (error instanceof UsageError) {
    return {
      text: error.exitCode === 2 ? `${error.message}\nRun "twofold --help" for usage.` : error.message,
      code: error.exitCode,
    };
  }
  if (error instanceof AppError) {
    const fields = Object.entries(error.fields).map(([field, message]) => `  ${field}: ${message}`);
    return { text: [error.message, ...fields].join('\n'), code: 1 };
  }
  if (error instanceof ConfigError || error instanceof DuplicateError || error instanceof EmailTakenError)
    return { text: error.message, code: 1 };
  return { text: `twofold: ${(error as Error).message ?? String(error)}`, code: 1 };
}

/** Runs one CLI invocation; resolves to the exit code. `serve` resolves only when the server stops. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const json = argv.includes('--json');
  let app: TwofoldApp | undefined;
  try {
    const { values, positionals } = parse(argv);
    const words = positionals.slice(0, 2).join(' ');
    const command = COMMANDS.find((c) => c.name === words) ?? COMMANDS.find((c) => c.name === positionals[0]);
    if (!command || values.help) {
      if (!command && positionals.length > 0)
        throw new UsageError(`unknown command "${positionals.join(' ')}"`, { exitCode: 2 });
      io.stdout.write(command ? `${command.usage}\n` : USAGE);
      return 0;
    }
    const given = Object.keys(values).filter((key) => key !== 'json' && key !== 'help');
    const unknown = given.filter((key) => !command.options.includes(key));
    if (unknown.length > 0)
      throw new UsageError(`"${command.name}" does not take --${unknown.join(', --')}`, { exitCode: 2 });
    const args = positionals.slice(command.name.split(' ').length);

    const config: Config = loadConfig({ env: io.env, cwd: io.cwd() });
    const logger = command.name === 'serve' ? createLogger(config.logLevel) : createLogger('warn', pino.destination(2));
    const openApp = async (options: { migrate?: boolean } = {}) => {
      app = await createApp(config, { logger });
      if (options.migrate !== false) await app.migrate();
      return app;
    };
    const context: CommandContext = { values, args, io, config, openApp };
    const result: CommandResult = await command.run(context);
    io.stdout.write(json ? `${JSON.stringify(result.json)}\n` : `${result.text}\n`);
    return 0;
  } catch (error) {
    const { text, code } = messageOf(error);
    if (json) io.stdout.write(`${JSON.stringify({ error: text })}\n`);
    io.stderr.write(`${text}\n`);
    return code;
  } finally {
    await app?.close();
  }
}
