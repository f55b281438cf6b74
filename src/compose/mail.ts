import type { Logger } from 'pino';

import type { Config } from '../config/load.ts';
import { createOutboxMailer } from '../delivery/outbox.ts';
import { createSmtpMailer } from '../delivery/smtp.ts';
import type { Clock } from '../ports/clock.ts';
import type { Mailer } from '../ports/mailer.ts';

/** Where emails go: an SMTP server, or the development outbox file (DESIGN §4, config `mail`). */
export function createMailer(config: Config, clock: Clock, logger: Logger): Mailer {
  const { driver, from, smtp } = config.mail;
  if (driver === 'smtp')
    // loadConfig refuses the smtp driver without a URL and a from-address.
    return createSmtpMailer({ ...smtp, url: smtp.url!, from: from!, logger });
  return createOutboxMailer({ dataDir: config.dataDir, clock, logger });
}
