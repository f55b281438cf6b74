import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createSmtpMailer, type SmtpOptions } from '../../../src/delivery/smtp.ts';
import { createLogger } from '../../../src/logger.ts';
import { freePort } from '../../helpers/server.ts';
import { startSilentServer, startSmtpServer, type TestSmtpServer } from '../../helpers/smtp.ts';

const FROM = 'Twofold Security <security@twofold.test>';
const EMAIL = { to: 'ada@acme.example', subject: 'Your password was changed', text: 'Hello Ada,\n\nIt was changed.' };

/** A mailer whose log lines the test can read. */
function mailerFor(url: string, options: Partial<SmtpOptions> = {}) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line)) });
  const mailer = createSmtpMailer({
    url,
    from: FROM,
    requireTls: false,
    connectionTimeoutMs: 2000,
    greetingTimeoutMs: 2000,
    socketTimeoutMs: 2000,
    ...options,
    logger,
  });
  const failures = () => lines.filter((line) => line.msg === 'could not send an email');
  return { mailer, lines, failures };
}

describe('the SMTP mailer', () => {
  let smtp: TestSmtpServer;
  let refusing: TestSmtpServer;
  beforeAll(async () => {
    [smtp, refusing] = await Promise.all([startSmtpServer(), startSmtpServer({ refuse: true })]);
  });
  afterAll(async () => Promise.all([smtp?.close(), refusing?.close()]));

  it('sends a plain-text email from the configured address, marked as automatic (RFC 3834)', async () => {
    const { mailer, lines } = mailerFor(smtp.url);
    await mailer.send(EMAIL);
    await mailer.settled();
    const email = await smtp.waitFor(EMAIL.to, EMAIL.subject);
    expect(email).toMatchObject({
      to: [EMAIL.to],
      from: { name: 'Twofold Security', address: 'security@twofold.test' },
      subject: EMAIL.subject,
      text: `${EMAIL.text}\n`,
    });
    expect(email.headers.get('auto-submitted')).toBe('auto-generated');
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'email sent', channel: 'email' }));
  });

  it('logs a refused recipient with the server answer and never rejects', async () => {
    const { mailer, failures } = mailerFor(refusing.url);
    await expect(mailer.send(EMAIL)).resolves.toBeUndefined();
    await mailer.settled();
    expect(refusing.received).toEqual([]);
    expect(failures()).toEqual([expect.objectContaining({ level: 50, to: EMAIL.to, responseCode: 550 })]);
  });

  it('logs a server that is down and never rejects', async () => {
    const { mailer, failures } = mailerFor(`smtp://127.0.0.1:${await freePort()}`);
    await expect(mailer.send(EMAIL)).resolves.toBeUndefined();
    await mailer.settled();
    expect(failures()).toEqual([expect.objectContaining({ errorCode: 'ESOCKET' })]);
  });

  it('hands the email over at once when the server never greets, and gives up after the greeting timeout', async () => {
    const silent = await startSilentServer();
    try {
      const { mailer, failures } = mailerFor(silent.url, { greetingTimeoutMs: 300 });
      const started = performance.now();
      await mailer.send(EMAIL);
      expect(performance.now() - started).toBeLessThan(100);
      expect(failures()).toEqual([]);
      await mailer.settled();
      const waited = performance.now() - started;
      expect(waited).toBeGreaterThanOrEqual(290);
      expect(waited).toBeLessThan(2000);
      expect(failures()).toEqual([expect.objectContaining({ errorCode: 'ETIMEDOUT' })]);
    } finally {
      await silent.close();
    }
  });

  it('with requireTls, sends nothing to a server that cannot upgrade the connection to TLS', async () => {
    const before = smtp.received.length;
    const { mailer, failures } = mailerFor(smtp.url, { requireTls: true });
    await mailer.send({ ...EMAIL, subject: 'Over plain text?' });
    await mailer.settled();
    expect(smtp.received.length).toBe(before);
    expect(failures()).toEqual([expect.objectContaining({ errorCode: 'ETLS' })]);
  });

  it('leaves the SMTP password out of the failure log', async () => {
    const { mailer, lines } = mailerFor(`smtp://twofold:hunter2-smtp-secret@127.0.0.1:${await freePort()}`);
    await mailer.send(EMAIL);
    await mailer.settled();
    expect(lines.length).toBeGreaterThan(0);
    expect(JSON.stringify(lines)).not.toContain('hunter2-smtp-secret');
  });
});
