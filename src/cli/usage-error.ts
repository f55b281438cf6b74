/**
 * A command line the CLI refuses; the person fixes the command, not the data. `exitCode` is what
 * the process exits with: 2 when the command line does not parse (unknown command or option, and
 * the message points to --help), 1 when it parses but an argument's value is refused.
 */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly exitCode: 1 | 2;

  constructor(message: string, options: { exitCode?: 1 | 2 } = {}) {
    super(message);
    this.exitCode = options.exitCode ?? 1;
  }
}
