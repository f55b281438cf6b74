import type { Logger } from 'pino';

import type { Config } from '../config/load.ts';
import { createOutboxMailer } from '../delivery/outbox.ts';
import { createSmtpMailer } from '../delivery/smtp.ts';
import type { Clock } from '../ports/clock.ts';
import type { Mailer } from '../ports/mailer.ts';
import type { UserStore } from '../ports/stores.ts';
import { createSecurityNotices, type SecurityNotices } from '../domain/security-notices.ts';

/** Where emails go: an SMTP server, or the development outbox file (DESIGN §4, config `mail`). */
export function createMailer(config: Config, clock: Clock, logger: Logger): Mailer {
  const { driver, from, smtp } = config.mail;
  if (driver === 'smtp')
    // loadConfig refuses the smtp driver without a URL and a from-address.
    return createSmtpMailer({ ...smtp, url: smtp.url!, from: from!, logger });
  return createOutboxMailer({ dataDir: config.dataDir, clock, logger });
}

/** The security emails, sent in the background through `mailer`; failures to prepare one are logged. */
export function createNotices(deps: {
  config: Config;
  users: UserStore;
  mailer: Mailer;
  logger: Logger;
  methodName(kind: string): string;
}): SecurityNotices {
  return createSecurityNotices({
    users: deps.users,
    mailer: deps.mailer,
    accountUrl: `${deps.config.issuer}/account`,
    methodName: deps.methodName,
    onError: (error) => deps.logger.error({ err: error }, 'could not prepare a security email'),
  });
}
