import type { OutgoingEmail } from '../ports/mailer.ts';
import type { Organization } from '../ports/stores.ts';

/** The emails that carry a one-time link (or say why none was sent); links are written in full. */

const when = (at: number) => new Date(at).toUTCString();

export interface ResetLinkEmail {
  to: string;
  org: Organization;
  url: string;
  minutes: number;
  at: number;
  /** The administrator who sent it; null when the person asked for it. */
  sentBy: string | null;
}

export function resetLinkEmail(input: ResetLinkEmail): OutgoingEmail {
  const { to, org, url, minutes, at, sentBy } = input;
  return {
    to,
    subject: `Reset your ${org.name} password`,
    text: [
      sentBy
        ? `An administrator of ${org.name} (${sentBy}) sent you a link to choose a new password for ${to} on ${when(at)}.`
        : `Someone asked to reset the password of ${to} at ${org.name} on ${when(at)}.`,
      '',
      `To choose a new password, open this link. It works once, for ${minutes} minutes:`,
      url,
      '',
      'If you use two-step verification, you confirm it is you with it first.',
      '',
      sentBy
        ? 'If you did not expect this, ignore this email and tell your administrator: your password stays as it is.'
        : 'If you did not ask for this, ignore this email: your password stays as it is.',
    ].join('\n'),
  };
}

/** A reset asked for by someone whose invitation is still pending: there is no password to reset yet. */
export function invitationPendingEmail(input: { to: string; org: Organization; at: number }): OutgoingEmail {
  const { to, org, at } = input;
  return {
    to,
    subject: `Your invitation to ${org.name} is waiting`,
    text: [
      `Someone asked to reset the password of ${to} at ${org.name} on ${when(at)}.`,
      '',
      'You have not accepted your invitation yet, so there is no password to reset. Open the link in your',
      'invitation email to choose your password, or ask your administrator to send the invitation again.',
      '',
      'If you did not ask for this, ignore this email.',
    ].join('\n'),
  };
}

export interface InvitationEmail {
  to: string;
  org: Organization;
  url: string;
  days: number;
  at: number;
  invitedBy: string;
}

export function invitationEmail(input: InvitationEmail): OutgoingEmail {
  const { to, org, url, days, at, invitedBy } = input;
  return {
    to,
    subject: `You are invited to ${org.name}`,
    text: [
      `${invitedBy} invited you to ${org.name}. You will sign in as ${to}.`,
      '',
      `To accept, open this link and choose your password. It works once, for ${days} days (until ${when(at + days * 86_400_000)}):`,
      url,
      '',
      ...(org.enforceTfa
        ? [`${org.name} requires two-step verification: you set it up the first time you sign in.`, '']
        : []),
      'If you did not expect this invitation, ignore this email.',
    ].join('\n'),
  };
}
