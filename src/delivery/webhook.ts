import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';

import type { Clock } from '../ports/clock.ts';
import { DeliveryError, type MessageSender, type OutgoingMessage } from '../ports/message-sender.ts';

export interface WebhookOptions {
  url: string;
  secret: string;
  timeoutMs: number;
  retries: number;
}

/**
 * Production delivery: POSTs the outbox JSON to a gateway. The body is signed
 * (X-Twofold-Signature: sha256=HMAC(secret, timestamp + "." + body)) with the timestamp in
 * X-Twofold-Timestamp so the receiver can refuse replays. A sign-in waits for one try of at most
 * `timeoutMs`: a network error, timeout, 5xx or 429 rejects with DeliveryError at once (the person
 * is offered another method) while the retries, with exponential backoff, run in the background
 * and are logged. A final failure is logged, never swallowed.
 */
export function createWebhookSender(
  deps: WebhookOptions & { clock: Clock; logger: Logger; sleep?: (ms: number) => Promise<void> },
): MessageSender {
  // The background retries must not hold the process open at shutdown.
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref()));
  const failed = (message: OutgoingMessage) =>
    deps.logger.error({ channel: message.channel, to: message.to }, 'the delivery webhook did not accept the message');

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

  /** The tries after the first, off the request path; never rejects. */
  async function retryInBackground(message: OutgoingMessage, body: string): Promise<void> {
    for (let tries = 1; tries <= deps.retries; tries++) {
      await sleep(200 * 2 ** (tries - 1));
      const outcome = await attempt(body);
      if (outcome === 'ok') {
        deps.logger.info({ channel: message.channel, to: message.to, tries: tries + 1 }, 'delivered on a retry');
        return;
      }
      if (outcome === 'refused') break;
    }
    failed(message);
  }

  return {
    async send(message) {
      const body = JSON.stringify({ ...message, at: new Date(deps.clock.now()).toISOString() });
      const outcome = await attempt(body);
      if (outcome === 'ok') return;
      if (outcome === 'retry' && deps.retries > 0) {
        deps.logger.warn({ channel: message.channel, to: message.to }, 'delivery failed; retrying in the background');
        retryInBackground(message, body).catch((error: unknown) => deps.logger.error({ err: error }, 'retry failed'));
      } else {
        failed(message);
      }
      throw new DeliveryError('the delivery webhook did not accept the message just now');
    },
  };
}
