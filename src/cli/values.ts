import type { TwofoldApp } from '../app.ts';
import type { Config } from '../config/load.ts';
import type { CliIo } from './io.ts';
import { UsageError } from './usage-error.ts';

/** Parsed options of one command line (node:util parseArgs). */
export type Values = Record<string, string | boolean | string[] | undefined>;

export interface CommandContext {
  values: Values;
  args: string[];
  io: CliIo;
  config: Config;
  /** Builds the app on the configured storage and (unless told otherwise) applies pending migrations. */
  openApp(options?: { migrate?: boolean }): Promise<TwofoldApp>;
}

export interface CommandResult {
  text: string;
  json: Record<string, unknown>;
}

export interface Command {
  name: string;
  usage: string;
  options: string[];
  run(context: CommandContext): Promise<CommandResult>;
}

export const str = (values: Values, key: string): string | undefined =>
  typeof values[key] === 'string' ? (values[key] as string) : undefined;
export const list = (values: Values, key: string): string[] =>
  Array.isArray(values[key]) ? (values[key] as string[]) : [];

export function required(values: Values, key: string): string {
  const value = str(values, key);
  if (!value) throw new UsageError(`--${key} is required`);
  return value;
}

export function pick<T extends string>(value: string, allowed: readonly T[], flag: string): T {
  if (!(allowed as readonly string[]).includes(value))
    throw new UsageError(`--${flag} must be one of ${allowed.join(', ')} (got "${value}")`);
  return value as T;
}
