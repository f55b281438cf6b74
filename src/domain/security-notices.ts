import { isIP } from 'node:net';

import type { Mailer, OutgoingEmail } from '../ports/mailer.ts';
import type { AuditEvent, UserStore } from '../ports/stores.ts';
import { noticeFor, utcText, type NoticeFacts } from './security-notice-texts.ts';
import { describeUserAgent } from './user-agent.ts';

/** An IPv4 or IPv6 address, or nothing: behind a proxy the address comes from a header anyone can write. */
const addressText = (ip: string | null) => (ip !== null && isIP(ip) !== 0 ? ip : 'not known');

/** The email for `facts.event` to `to`, or null when the event calls for none. */
export function composeNotice(facts: NoticeFacts, to: string): OutgoingEmail | null {
  const notice = noticeFor(facts.event.type)?.(facts);
  if (!notice) return null;
  const { event } = facts;
  const ifNotYou = notice.ifNotYou ?? [
    'If this was you, there is nothing to do.',
    `If it was not you, check your account at ${facts.accountUrl} (your methods, signed-in browsers and app passwords), change your password, and contact your administrator.`,
  ];
  const text = [
    `Hello ${facts.greeting},`,
    '',
    ...notice.happened,
    '',
    `When: ${utcText(event.at)}`,
    `Browser: ${describeUserAgent(event.userAgent)}`,
    `Address: ${addressText(event.ip)}`,
    ...(notice.also?.length ? ['', ...notice.also] : []),
    '',
    ...ifNotYou,
    '',
    `Twofold, for ${facts.orgName}. This email was sent automatically; replies are not read.`,
  ].join('\n');
  return { to, subject: notice.subject, text };
}

/** Emails people about security events on their account, driven by the audit trail. */
export interface SecurityNotices {
  /**
   * Called once an event is recorded: emails the person it is about when its type calls for it.
   * Works in the background and never throws, so a notice can neither slow nor fail the request.
   */
  notify(event: AuditEvent): void;
  /** Resolves once every notice begun so far has been handed to the mailer and the mailer is done. */
  settled(): Promise<void>;
}

export function createSecurityNotices(deps: {
  users: Pick<UserStore, 'findUserBySubject'>;
  mailer: Mailer;
  /** <issuer>/account */
  accountUrl: string;
  methodName(kind: string): string;
  /** A notice that could not be prepared (the person could not be read): logged by the caller. */
  onError(error: unknown): void;
}): SecurityNotices {
  const inFlight = new Set<Promise<void>>();

  async function send(event: AuditEvent): Promise<void> {
    if (!noticeFor(event.type) || !event.userId) return;
    const found = await deps.users.findUserBySubject(event.userId);
    if (!found || found.user.orgId !== event.orgId) return;
    const facts = {
      event,
      greeting: found.user.name ?? found.user.email,
      orgName: found.organization.name,
      accountUrl: deps.accountUrl,
      methodName: deps.methodName,
    };
    const email = composeNotice(facts, found.user.email);
    if (email) await deps.mailer.send(email);
  }

  return {
    notify(event) {
      const task = send(event)
        .catch(deps.onError)
        .finally(() => inFlight.delete(task));
      inFlight.add(task);
    },
    async settled() {
      while (inFlight.size > 0) await Promise.all(inFlight);
      await deps.mailer.settled();
    },
  };
}
