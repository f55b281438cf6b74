/** A one-time code on its way to a phone, by SMS or by a voice call. */
export interface OutgoingMessage {
  channel: 'sms' | 'voice';
  /** E.164 number. */
  to: string;
  code: string;
  /** What the person reads or hears. */
  text: string;
}

/** Delivers codes (DESIGN §4: the outbox file in development, a signed webhook in production). */
export interface MessageSender {
  /** Resolves once the message is accepted; rejects with DeliveryError when it cannot be. */
  send(message: OutgoingMessage): Promise<void>;
}

export class DeliveryError extends Error {
  override name = 'DeliveryError';
}
