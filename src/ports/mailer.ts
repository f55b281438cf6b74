/** An email to a person: security notices, reset links and invitations. */
export interface OutgoingEmail {
  to: string;
  subject: string;
  /** Plain text; links are written in full. */
  text: string;
}

/** Sends emails (DESIGN §4: the outbox file in development, SMTP in production). */
export interface Mailer {
  /**
   * Hands the email over for delivery and never rejects: a failure is logged, because a notice
   * must not undo what it reports. It may resolve before the mail server has answered (SMTP sends
   * in the background), so a slow mail server never holds a request.
   */
  send(email: OutgoingEmail): Promise<void>;
  /** Resolves once every email handed over so far is delivered or given up (shutdown, tests). */
  settled(): Promise<void>;
}
