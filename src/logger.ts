import pino, { type Logger } from 'pino';

/** JSON logs on stdout. Secrets never reach a log line: redact the usual suspects as a backstop. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'twofold' },
      redact: {
        paths: ['password', '*.password', 'token', '*.token', 'code', '*.code', 'secret', '*.secret'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
