import { createServer, type Socket } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** An email as the SMTP server received it: the envelope, and the message parsed by mailparser. */
export interface ReceivedEmail {
  /** RCPT TO addresses. */
  to: string[];
  /** The From header's name and address. */
  from: { name: string; address: string };
  subject: string;
  text: string;
  headers: Map<string, unknown>;
}

export interface TestSmtpServer {
  url: string;
  received: ReceivedEmail[];
  /** The first email to `to` whose subject is `subject` (and whose text has `containing`), once it arrives. */
  waitFor(to: string, subject: string, options?: { containing?: string; timeoutMs?: number }): Promise<ReceivedEmail>;
  /** Every email received for `to` so far. */
  to(to: string): ReceivedEmail[];
  close(): Promise<void>;
}

/**
 * A real SMTP server (the smtp-server package) on a loopback port, without TLS or authentication,
 * that keeps what it receives; with `refuse`, it answers every recipient 550 instead.
 */
export async function startSmtpServer(options: { refuse?: boolean } = {}): Promise<TestSmtpServer> {
  const received: ReceivedEmail[] = [];
  const server = new SMTPServer({
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onRcptTo(_address, _session, callback) {
      if (!options.refuse) return callback();
      callback(Object.assign(new Error('Mailbox unavailable'), { responseCode: 550 }));
    },
    onData(stream, session, callback) {
      simpleParser(stream).then((parsed) => {
        received.push({
          to: session.envelope.rcptTo.map((r) => r.address),
          from: { name: parsed.from?.value[0]?.name ?? '', address: parsed.from?.value[0]?.address ?? '' },
          subject: parsed.subject ?? '',
          text: parsed.text ?? '',
          headers: parsed.headers,
        });
        callback();
      }, callback);
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.on('error', reject);
    const listening = server.listen(0, '127.0.0.1', () => resolve((listening.address() as { port: number }).port));
  });
  const to = (address: string) => received.filter((email) => email.to.includes(address));
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    to,
    async waitFor(address, subject, { containing = '', timeoutMs = 5000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = to(address).find((email) => email.subject === subject && email.text.includes(containing));
        if (found) return found;
        if (Date.now() > deadline) {
          const seen = received.map((e) => `${e.to.join(',')}: ${e.subject}`).join('\n');
          throw new Error(`no email "${subject}" (${containing}) to ${address} in ${timeoutMs} ms; received:\n${seen}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A server that accepts connections and never says a word: an SMTP server that hangs. */
export async function startSilentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `smtp://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The config that sends the app's email to `url` (plain SMTP on loopback, so TLS is not required). */
export const smtpMail = (url: string, overrides: Record<string, unknown> = {}) => ({
  mail: {
    driver: 'smtp',
    from: 'Twofold Security <security@twofold.test>',
    smtp: { url, requireTls: false, ...overrides },
  },
});
