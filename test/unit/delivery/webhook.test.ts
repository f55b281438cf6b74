import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';

import { createWebhookSender } from '../../../src/delivery/webhook.ts';
import { DeliveryError, type OutgoingMessage } from '../../../src/ports/message-sender.ts';
import { createTestClock } from '../../helpers/clock.ts';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

/** A real gateway on 127.0.0.1: `respond` decides each answer (by attempt number, from 1). */
async function startGateway(respond: (attempt: number, res: ServerResponse) => void) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      respond(received.length, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = () => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  cleanups.push(close);
  return { url: `http://127.0.0.1:${port}/sms`, received, close };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((close) => close()));
});

const SECRET = 'whsec-0123456789abcdef0123456789abcdef';
const NOW = Date.UTC(2031, 0, 1, 12, 0, 0);
const message: OutgoingMessage = {
  channel: 'sms',
  to: '+15555550123',
  code: '405123',
  text: '405123 is your Twofold security code.',
};

function sender(url: string, options: { retries?: number; timeoutMs?: number } = {}) {
  const sleeps: number[] = [];
  const logs: { level: number; msg: string }[] = [];
  const webhook = createWebhookSender({
    url,
    secret: SECRET,
    timeoutMs: options.timeoutMs ?? 2000,
    retries: options.retries ?? 3,
    clock: createTestClock(NOW),
    logger: pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) }),
    sleep: async (ms) => void sleeps.push(ms),
  });
  return { webhook, sleeps, logs };
}

/** Waits for the background retries to reach a state (they run after `send` has answered). */
async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('the background retries never got there');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const logged = (logs: { msg: string }[], text: string) => logs.some((entry) => entry.msg.includes(text));

const status = (code: number) => (_attempt: number, res: ServerResponse) => res.writeHead(code).end();

describe('webhook delivery', () => {
  it('posts the message as JSON with the time', async () => {
    const gateway = await startGateway(status(204));
    await sender(gateway.url).webhook.send(message);
    expect(gateway.received).toHaveLength(1);
    const [request] = gateway.received;
    expect(request!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request!.body)).toEqual({ ...message, at: new Date(NOW).toISOString() });
  });

  it('signs timestamp.body with HMAC-SHA256 under the shared secret, and the signature verifies', async () => {
    const gateway = await startGateway(status(200));
    await sender(gateway.url).webhook.send(message);
    const { headers, body } = gateway.received[0]!;
    const timestamp = headers['x-twofold-timestamp'] as string;
    expect(timestamp).toBe(String(NOW / 1000));
    const signature = headers['x-twofold-signature'] as string;
    expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/);
    const expected = createHmac('sha256', SECRET).update(`${timestamp}.${body}`).digest();
    expect(timingSafeEqual(Buffer.from(signature.slice('sha256='.length), 'hex'), expected)).toBe(true);
    // The signature covers the body: any change to it fails verification.
    const tampered = createHmac('sha256', SECRET)
      .update(`${timestamp}.${body.replace('405123', '000000')}`)
      .digest('hex');
    expect(signature).not.toBe(`sha256=${tampered}`);
  });

  it('answers a 5xx at once with DeliveryError, then retries in the background with exponential backoff', async () => {
    const gateway = await startGateway((attempt, res) => res.writeHead(attempt < 3 ? 503 : 202).end());
    const { webhook, sleeps, logs } = sender(gateway.url, { retries: 3 });
    await expect(webhook.send(message)).rejects.toBeInstanceOf(DeliveryError);
    await until(() => logged(logs, 'delivered on a retry'));
    expect(gateway.received).toHaveLength(3);
    expect(sleeps).toEqual([200, 400]);
    expect(new Set(gateway.received.map((r) => r.body)).size).toBe(1);
    expect(logged(logs, 'retrying in the background')).toBe(true);
  });

  it('retries a 429 as well', async () => {
    const gateway = await startGateway((attempt, res) => res.writeHead(attempt === 1 ? 429 : 200).end());
    const { webhook, logs } = sender(gateway.url);
    await expect(webhook.send(message)).rejects.toBeInstanceOf(DeliveryError);
    await until(() => logged(logs, 'delivered on a retry'));
    expect(gateway.received).toHaveLength(2);
  });

  it('logs the failure after the last background retry', async () => {
    const gateway = await startGateway(status(500));
    const { webhook, sleeps, logs } = sender(gateway.url, { retries: 3 });
    await expect(webhook.send(message)).rejects.toBeInstanceOf(DeliveryError);
    await until(() => logged(logs, 'did not accept'));
    expect(gateway.received).toHaveLength(4);
    expect(sleeps).toEqual([200, 400, 800]);
  });

  it('does not retry a 4xx, and rejects with DeliveryError', async () => {
    const gateway = await startGateway(status(400));
    const { webhook, sleeps, logs } = sender(gateway.url, { retries: 3 });
    await expect(webhook.send(message)).rejects.toBeInstanceOf(DeliveryError);
    expect(gateway.received).toHaveLength(1);
    expect(sleeps).toEqual([]);
    expect(logged(logs, 'did not accept')).toBe(true);
  });

  it('with no retries configured, a 5xx is reported and nothing runs in the background', async () => {
    const gateway = await startGateway(status(503));
    const { webhook, sleeps, logs } = sender(gateway.url, { retries: 0 });
    await expect(webhook.send(message)).rejects.toBeInstanceOf(DeliveryError);
    expect(sleeps).toEqual([]);
    expect(logged(logs, 'did not accept')).toBe(true);
  });

  it('a stalled gateway holds a sign-in for one timeout only; the retry runs off the request path (issue: 20 s SMS sends)', async () => {
    const gateway = await startGateway((attempt, res) => {
      if (attempt > 1) res.writeHead(202).end(); // the first request stalls and is never answered
    });
    const { webhook, logs } = sender(gateway.url, { retries: 3, timeoutMs: 300 });
    const started = Date.now();
    await expect(webhook.send(message)).rejects.toBeInstanceOf(DeliveryError);
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(250);
    expect(waited).toBeLessThan(1500);
    expect(gateway.received).toHaveLength(1);
    await until(() => logged(logs, 'delivered on a retry'));
    expect(gateway.received).toHaveLength(2);
  });

  it('a gateway that never answers is retried in the background until the retries run out', async () => {
    const gateway = await startGateway(() => {}); // never answers
    const { webhook, logs } = sender(gateway.url, { retries: 1, timeoutMs: 150 });
    const started = Date.now();
    await expect(webhook.send(message)).rejects.toBeInstanceOf(DeliveryError);
    expect(Date.now() - started).toBeLessThan(1000);
    await until(() => logged(logs, 'did not accept'));
    expect(gateway.received).toHaveLength(2);
  });

  it('a gateway that cannot be reached is a DeliveryError', async () => {
    const gateway = await startGateway(status(200));
    await gateway.close();
    const { webhook, sleeps, logs } = sender(gateway.url, { retries: 2 });
    await expect(webhook.send(message)).rejects.toBeInstanceOf(DeliveryError);
    await until(() => logged(logs, 'did not accept'));
    expect(sleeps).toEqual([200, 400]);
  });
});
