/** An email to a person: security notices (a new app password), later reset links and invitations. */
export interface OutgoingEmail {
  to: string;
  subject: string;
  /** Plain text; links are written in full. */
  text: string;
}

/** Sends emails (DESIGN §4: the outbox file in development; SMTP arrives with the admin console). */
export interface Mailer {
  /** Resolves once the email is accepted; a notice that cannot be sent never undoes what it reports. */
  send(email: OutgoingEmail): Promise<void>;
}
