import { createRequire } from 'node:module';

import type Nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import type { Logger } from 'pino';

import type { Mailer } from '../ports/mailer.ts';

export interface SmtpOptions {
  /** smtp://user:password@host:587 (STARTTLS) or smtps://host:465 (TLS from the start). */
  url: string;
  /** The From header: "Name <address>". */
  from: string;
  /** Refuse to send over a connection that did not become TLS (nodemailer's requireTLS). */
  requireTls: boolean;
  connectionTimeoutMs: number;
  greetingTimeoutMs: number;
  socketTimeoutMs: number;
}

/** What a failure log says: never the error object itself, which may carry the server's dialogue. */
function describeFailure(error: unknown) {
  const { code, responseCode, message } = error as { code?: unknown; responseCode?: unknown; message?: unknown };
  // Not `code`: the logger redacts that name (it usually holds a one-time code).
  return { errorCode: code ?? null, responseCode: responseCode ?? null, message: String(message ?? error) };
}

/**
 * Host, port, TLS and credentials from smtp(s)://user:password@host:port. Parsed here because
 * nodemailer, given a `url`, ignores every other option (the timeouts and requireTLS with them).
 * Without a port, nodemailer uses 465 for smtps and 587 (submission, RFC 6409) for smtp.
 */
function connectionOf(text: string): SMTPTransport.Options {
  const url = new URL(text);
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    ...(url.port ? { port: Number(url.port) } : {}),
    secure: url.protocol === 'smtps:',
    ...(url.username
      ? { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } }
      : {}),
  };
}

/**
 * Production email through an SMTP server (nodemailer). `send` starts the delivery and resolves at
 * once: the request that caused the email never waits for the mail server, and a failure (refused,
 * unreachable, timed out) is logged, never thrown. One connection per email (notices are rare; no
 * pool holds sockets open between them). The timeouts bound every stage, so a server that accepts
 * the connection and then says nothing is given up on.
 */
export function createSmtpMailer(deps: SmtpOptions & { logger: Logger }): Mailer {
  const options: SMTPTransport.Options = {
    ...connectionOf(deps.url),
    requireTLS: deps.requireTls,
    tls: { minVersion: 'TLSv1.2' },
    connectionTimeout: deps.connectionTimeoutMs,
    dnsTimeout: deps.connectionTimeoutMs,
    greetingTimeout: deps.greetingTimeoutMs,
    socketTimeout: deps.socketTimeoutMs,
  };
  // Required here, not imported: a node on the outbox driver never loads nodemailer (memory, issue 11).
  const nodemailer = createRequire(import.meta.url)('nodemailer') as typeof Nodemailer;
  const transport = nodemailer.createTransport(options);
  const inFlight = new Set<Promise<void>>();

  async function deliver(email: Parameters<Mailer['send']>[0]): Promise<void> {
    try {
      const info = await transport.sendMail({
        from: deps.from,
        to: email.to,
        subject: email.subject,
        text: email.text,
        // RFC 3834 §5: an automatic message, so auto-responders do not answer it.
        headers: { 'Auto-Submitted': 'auto-generated' },
      });
      deps.logger.info({ channel: 'email', messageId: info.messageId }, 'email sent');
    } catch (error) {
      deps.logger.error({ channel: 'email', to: email.to, ...describeFailure(error) }, 'could not send an email');
    }
  }

  return {
    async send(email) {
      const delivery = deliver(email).finally(() => inFlight.delete(delivery));
      inFlight.add(delivery);
    },
    async settled() {
      while (inFlight.size > 0) await Promise.all(inFlight);
    },
  };
}
