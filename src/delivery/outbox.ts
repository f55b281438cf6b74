import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';

import type { Clock } from '../ports/clock.ts';
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
