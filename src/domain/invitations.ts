import type { Clock } from '../ports/clock.ts';
import type { Mailer } from '../ports/mailer.ts';
import type { PersonLinkStore } from '../ports/person-link-store.ts';
import { EmailTakenError, type Organization, type User, type UserWithOrganization } from '../ports/stores.ts';
import { displayNameSchema, type Accounts, type InvitedUserInput } from './accounts.ts';
import type { Audit } from './audit.ts';
import { AppError } from './errors.ts';
import { domainErrors } from './error-codes.ts';
import { invitationEmail } from './link-emails.ts';
import type { IssuedLink, LiveLink, PersonLinks } from './person-links.ts';

/** A week: time to see the email after a weekend, not long enough to lie around for months. */
export const INVITATION_DAYS = 7;

/**
 * Invitations: an administrator adds a person by email; the person chooses their password (and
 * confirms their name) from a one-time link, then signs in like anyone else. Until then they exist
 * with a password no one knows, so nothing but the link lets them in.
 */
export interface Invitations {
  /** Creates the invited person with their link (one transaction), records `user.invited` and emails the link. */
  invite(org: Organization, input: InvitedUserInput, admin: string): Promise<User>;
  /** A new link for a pending invitation; the older one stops working. */
  resend(org: Organization, userId: string, admin: string): Promise<User>;
  /** Deletes a person whose invitation is pending. */
  cancel(org: Organization, userId: string, admin: string): Promise<User>;
  /** The stored form of a link's secret from its URL; undefined when it cannot be one. */
  hashOf(secret: string): string | undefined;
  /** The live invitation of this hash and its person, while it is pending. */
  find(tokenHash: string): Promise<LiveLink | undefined>;
  /** Sets the chosen password and name and ends the invitation; invalid_user (with fields) or link_invalid otherwise. */
  accept(tokenHash: string, input: { name: string; password: string }): Promise<UserWithOrganization>;
  /** Until when the person's invitation link works; null when none is live. */
  pendingUntil(org: Organization, userId: string): Promise<number | null>;
}

const pending = (account: UserWithOrganization) => account.user.invitedAt !== null && account.user.disabledAt === null;

export function createInvitations(deps: {
  links: PersonLinks;
  store: PersonLinkStore;
  accounts: Pick<Accounts, 'prepareInvitedUser' | 'hashChosenPassword'>;
  mailer: Mailer;
  audit: Audit;
  clock: Clock;
}): Invitations {
  const { links, store, audit } = deps;
  const ttl = INVITATION_DAYS * 86_400_000;

  const email = (account: { user: User; organization: Organization }, link: IssuedLink, admin: string) =>
    deps.mailer.send(
      invitationEmail({
        to: account.user.email,
        org: account.organization,
        url: link.url,
        days: INVITATION_DAYS,
        at: link.record.createdAt,
        invitedBy: admin,
      }),
    );

  async function pendingMember(org: Organization, userId: string) {
    const account = await links.member(org, userId);
    if (account.user.invitedAt === null) throw domainErrors.raise('not_invited');
    return account;
  }

  /** The name and password as chosen, with every problem at once. */
  async function checkChoice(account: UserWithOrganization, input: { name: string; password: string }) {
    const fields: Record<string, string> = {};
    const name = displayNameSchema.safeParse(input.name);
    if (!name.success) fields.name = name.error.issues[0]!.message;
    const passwordHash = await deps.accounts
      .hashChosenPassword(account, input.password, name.data ?? account.user.name)
      .catch((error: unknown) => {
        if (!(error instanceof AppError) || !error.fields.password) throw error;
        fields.password = error.fields.password;
      });
    if (!name.success || !passwordHash) throw domainErrors.raise('invalid_user', { fields });
    return { name: name.data, passwordHash };
  }

  async function find(tokenHash: string) {
    const link = await links.find('invitation', tokenHash);
    return link && pending(link.account) ? link : undefined;
  }

  return {
    async invite(org, input, admin) {
      const { user, passwordHash } = await deps.accounts.prepareInvitedUser(org, input);
      const link = links.prepare({ orgId: org.id, userId: user.id }, 'invitation', ttl, admin);
      try {
        await store.insertInvitedUser(user, passwordHash, link.record);
      } catch (error) {
        if (!(error instanceof EmailTakenError)) throw error;
        throw domainErrors.raise('email_taken', { fields: { email: 'This email address already has an account.' } });
      }
      await audit.record({
        type: 'user.invited',
        orgId: org.id,
        userId: user.id,
        actor: admin,
        detail: { role: user.role },
      });
      await email({ user, organization: org }, link, admin);
      return user;
    },
    async resend(org, userId, admin) {
      const account = await pendingMember(org, userId);
      const link = await links.issue({ orgId: org.id, userId }, 'invitation', ttl, admin);
      await audit.record({ type: 'invitation.resent', orgId: org.id, userId, actor: admin });
      await email(account, link, admin);
      return account.user;
    },
    async cancel(org, userId, admin) {
      const account = await pendingMember(org, userId);
      if (!(await store.deleteInvitedUser(org.id, userId))) throw domainErrors.raise('not_invited');
      await audit.record({
        type: 'invitation.cancelled',
        orgId: org.id,
        userId,
        actor: admin,
        detail: { email: account.user.email },
      });
      return account.user;
    },
    hashOf: (secret) => links.hashOf('invitation', secret),
    find,
    async accept(tokenHash, input) {
      const link = await find(tokenHash);
      if (!link) throw domainErrors.raise('link_invalid');
      const { name, passwordHash } = await checkChoice(link.account, input);
      const now = deps.clock.now();
      const spent = await store.setPasswordByLink('invitation', tokenHash, now, { passwordHash, changedAt: now, name });
      if (!spent) throw domainErrors.raise('link_invalid');
      await audit.record({ type: 'invitation.accepted', orgId: spent.orgId, userId: spent.userId });
      return { user: { ...link.account.user, name, invitedAt: null }, organization: link.account.organization };
    },
    async pendingUntil(org, userId) {
      return (await links.liveOf(org.id, userId, 'invitation'))?.expiresAt ?? null;
    },
  };
}
