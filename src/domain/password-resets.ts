import type { AccountAccess } from '../ports/account-access.ts';
import type { Clock } from '../ports/clock.ts';
import type { Mailer } from '../ports/mailer.ts';
import type { PersonLinkStore } from '../ports/person-link-store.ts';
import type { Organization, UserStore, UserWithOrganization } from '../ports/stores.ts';
import type { Person } from '../factors/factor.ts';
import type { Accounts } from './accounts.ts';
import type { AppPasswords } from './app-passwords.ts';
import type { Audit } from './audit.ts';
import { domainErrors } from './error-codes.ts';
import { invitationPendingEmail, resetLinkEmail } from './link-emails.ts';
import type { LiveLink, PersonLinks } from './person-links.ts';
import { personOf } from './sign-in-flow.ts';

/** Long enough to find the email, short enough that a forgotten one is soon useless (OWASP). */
export const RESET_LINK_MINUTES = 30;

/** What the person chose on the new-password form, and how they proved it was them. */
export interface ResetChoices {
  /** App passwords are separate from sessions: they end only when the person asks. */
  revokeAppPasswords: boolean;
  /** The second factor proven before the form (the audit trail says which); null for people without one. */
  provenWith: string | null;
  ip: string;
}

/**
 * Forgotten passwords: a one-time link by email, asked for by the person or sent by an
 * administrator. The link alone never signs anyone in: the routes make a person with a second
 * factor prove it before the form, and the person signs in afterwards like any other time.
 */
export interface PasswordResets {
  /**
   * A person asked with their email. Whatever the address, the caller answers alike: unknown and
   * disabled people get nothing, an invited person a note that points at their invitation.
   */
  request(email: string): Promise<void>;
  /** An administrator sends the link (not to an invited or disabled person); `admin` is their email. */
  send(org: Organization, userId: string, admin: string): Promise<UserWithOrganization>;
  /** The stored form of a link's secret from its URL; undefined when it cannot be one. */
  hashOf(secret: string): string | undefined;
  /** The live link of this hash and its person, while that person may still use it. */
  find(tokenHash: string): Promise<LiveLink | undefined>;
  /**
   * Spends the link and sets the password (one transaction), forgets trusted browsers, ends every
   * session, grant and token of the person (always: a reset is often the answer to a stolen password),
   * revokes app passwords when chosen and records `password.reset`. weak_password (with the field) or link_invalid otherwise.
   */
  complete(tokenHash: string, password: string, choices: ResetChoices): Promise<void>;
}

/** Only people who could sign in with a password may reset it. */
const mayReset = (account: UserWithOrganization) => account.user.disabledAt === null && account.user.invitedAt === null;

export function createPasswordResets(deps: {
  links: PersonLinks;
  store: Pick<PersonLinkStore, 'setPasswordByLink'>;
  users: Pick<UserStore, 'findUserByEmail'>;
  accounts: Pick<Accounts, 'hashChosenPassword'>;
  access: AccountAccess;
  appPasswords: Pick<AppPasswords, 'revokeAll'>;
  /** A new password is often the answer to a leak: no browser keeps skipping the second step. */
  forgetTrustedBrowsers(person: Person): Promise<void>;
  mailer: Mailer;
  audit: Audit;
  clock: Clock;
}): PasswordResets {
  const { links, audit, clock } = deps;
  const ttl = RESET_LINK_MINUTES * 60_000;

  async function issue(account: UserWithOrganization, sentBy: string | null) {
    const person = personOf(account);
    const link = await links.issue(person, 'password_reset', ttl, sentBy);
    await audit.record({
      type: sentBy ? 'password.reset_sent' : 'password.reset_requested',
      orgId: person.orgId,
      userId: person.userId,
      actor: sentBy,
    });
    await deps.mailer.send(
      resetLinkEmail({
        to: person.email,
        org: account.organization,
        url: link.url,
        minutes: RESET_LINK_MINUTES,
        at: link.record.createdAt,
        sentBy,
      }),
    );
  }

  async function find(tokenHash: string) {
    const link = await links.find('password_reset', tokenHash);
    return link && mayReset(link.account) ? link : undefined;
  }

  return {
    async request(email) {
      const found = await deps.users.findUserByEmail(email);
      if (!found || found.user.disabledAt !== null) return;
      if (found.user.invitedAt !== null) {
        const note = { to: found.user.email, org: found.organization, at: clock.now() };
        return deps.mailer.send(invitationPendingEmail(note));
      }
      await issue(found, null);
    },
    async send(org, userId, admin) {
      const account = await links.member(org, userId);
      const who = account.user.name ?? account.user.email;
      if (account.user.invitedAt !== null)
        throw domainErrors.raise('link_unavailable', {
          message: `${who} has not accepted their invitation yet. Send the invitation again instead.`,
        });
      if (account.user.disabledAt !== null)
        throw domainErrors.raise('link_unavailable', { message: `${who} is disabled. Enable them first.` });
      await issue(account, admin);
      return account;
    },
    hashOf: (secret) => links.hashOf('password_reset', secret),
    find,
    async complete(tokenHash, password, choices) {
      const link = await find(tokenHash);
      if (!link) throw domainErrors.raise('link_invalid');
      const passwordHash = await deps.accounts.hashChosenPassword(link.account, password);
      const now = clock.now();
      const spent = await deps.store.setPasswordByLink('password_reset', tokenHash, now, {
        passwordHash,
        changedAt: now,
      });
      if (!spent) throw domainErrors.raise('link_invalid');
      const person = personOf(link.account);
      await deps.forgetTrustedBrowsers(person);
      const ended = await deps.access.endAll(person.userId);
      const revoked = choices.revokeAppPasswords ? await deps.appPasswords.revokeAll(person, choices.ip) : 0;
      await audit.record({
        type: 'password.reset',
        orgId: person.orgId,
        userId: person.userId,
        ip: choices.ip,
        detail: {
          sentBy: spent.createdBy,
          secondFactor: choices.provenWith,
          signedOutEverywhere: true,
          ...ended,
          appPasswordsRevoked: revoked,
        },
      });
    },
  };
}
