import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';

import type { Clock } from '../ports/clock.ts';
import { DeliveryError, type MessageSender } from '../ports/message-sender.ts';

export interface WebhookOptions {
  url: string;
  secret: string;
  timeoutMs: number;
  retries: number;
}

/**
 * Production delivery: POSTs the outbox JSON to a gateway. The body is signed
 * (X-Twofold-Signature: sha256=HMAC(secret, timestamp + "." + body)) with the timestamp in
 * X-Twofold-Timestamp so the receiver can refuse replays. Network errors and 5xx are retried
 * with exponential backoff; a final failure is reported, never swallowed.
 */
export function createWebhookSender(
  deps: WebhookOptions & { clock: Clock; logger: Logger; sleep?: (ms: number) => Promise<void> },
): MessageSender {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

  async function attempt(body: string): Promise<'ok' | 'retry' | 'refused'> {
    const timestamp = String(Math.floor(deps.clock.now() / 1000));
    const signature = createHmac('sha256', deps.secret).update(`${timestamp}.${body}`).digest('hex');
    try {
      const response = await fetch(deps.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-twofold-timestamp': timestamp,
          'x-twofold-signature': `sha256=${signature}`,
        },
        body,
        signal: AbortSignal.timeout(deps.timeoutMs),
      });
      await response.arrayBuffer();
      if (response.ok) return 'ok';
      return response.status >= 500 || response.status === 429 ? 'retry' : 'refused';
    } catch {
      return 'retry';
    }
  }

  return {
    async send(message) {
      const body = JSON.stringify({ ...message, at: new Date(deps.clock.now()).toISOString() });
      for (let tries = 0; tries <= deps.retries; tries++) {
        if (tries > 0) await sleep(200 * 2 ** (tries - 1));
        const outcome = await attempt(body);
        if (outcome === 'ok') return;
        if (outcome === 'refused') break;
      }
      deps.logger.error(
        { channel: message.channel, to: message.to },
        'the delivery webhook did not accept the message',
      );
      throw new DeliveryError('the delivery webhook did not accept the message');
    },
  };
}
