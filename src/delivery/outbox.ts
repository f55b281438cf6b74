import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';

import type { Clock } from '../ports/clock.ts';
import type { Mailer } from '../ports/mailer.ts';
import { DeliveryError, type MessageSender } from '../ports/message-sender.ts';

/**
 * Development delivery: one JSON line per message appended to <dataDir>/outbox.jsonl
 * ({"channel","to","code","text","at"}), so a developer or a test can read the code.
 * Production configuration refuses this driver.
 */
export function createOutboxSender(deps: { dataDir: string; clock: Clock; logger: Logger }): MessageSender {
  const file = path.join(deps.dataDir, 'outbox.jsonl');
  return {
    async send(message) {
      const line = JSON.stringify({
        channel: message.channel,
        to: message.to,
        code: message.code,
        text: message.text,
        at: new Date(deps.clock.now()).toISOString(),
      });
      try {
        await appendFile(file, `${line}\n`, { mode: 0o600 });
      } catch (error) {
        throw new DeliveryError(`cannot write the outbox: ${(error as Error).message}`);
      }
      deps.logger.info(
        { channel: message.channel, to: message.to, outbox: file },
        'code written to the development outbox',
      );
    },
  };
}

/**
 * Development email: the same outbox file, lines {"channel":"email","to","subject","text","at"}.
 * Failures are logged, never thrown: a notice must not undo what it reports.
 */
export function createOutboxMailer(deps: { dataDir: string; clock: Clock; logger: Logger }): Mailer {
  const file = path.join(deps.dataDir, 'outbox.jsonl');
  return {
    async send(email) {
      const line = JSON.stringify({
        channel: 'email',
        to: email.to,
        subject: email.subject,
        text: email.text,
        at: new Date(deps.clock.now()).toISOString(),
      });
      try {
        await appendFile(file, `${line}\n`, { mode: 0o600 });
        deps.logger.info({ channel: 'email', outbox: file }, 'email written to the development outbox');
      } catch (error) {
        deps.logger.warn({ err: error }, 'could not write an email to the outbox');
      }
    },
    // Each send writes before it resolves: nothing is left in flight.
    settled: async () => {},
  };
}
