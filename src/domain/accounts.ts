import { z } from 'zod';

import type { Clock } from '../ports/clock.ts';
import type { PasswordHasher } from '../ports/password-hasher.ts';
import type { Random } from '../ports/random.ts';
import {
  normalizeEmail,
  type Organization,
  type Role,
  type User,
  type UserStore,
  type UserWithOrganization,
} from '../ports/stores.ts';
import type { Audit } from './audit.ts';
import { emailSchema } from './email.ts';
import { parsePhoneNumber } from './phone-numbers.ts';
import { normalizePassword, type PasswordPolicy, type PasswordRules } from './passwords/policy.ts';
import type { Throttle } from './throttle.ts';
import { secondsText } from './duration-text.ts';
import { domainErrors } from './error-codes.ts';

export const roleSchema = z.enum(['member', 'admin']);

export const displayNameSchema = z.string().trim().min(1, 'Enter a name.').max(200, 'Use at most 200 characters.');

export interface NewUserInput {
  email: string;
  name?: string | null;
  phone?: string | null;
  role?: Role;
  password: string;
}

/** Who an administrator invites: they choose their password from the emailed link. */
export interface InvitedUserInput {
  email: string;
  name?: string | null;
  role?: Role;
}

export type PasswordSignIn =
  | { ok: true; account: UserWithOrganization }
  | { ok: false; reason: 'invalid_credentials' }
  /** The password was right, but an administrator has disabled the account (never said before the password is). */
  | { ok: false; reason: 'disabled' }
  | { ok: false; reason: 'throttled'; retryAfterSeconds: number };

/** Where a password came from, when not the sign-in page: a mail or calendar app (the legacy grant). */
export type SignInChannel = 'mail_app';

export interface Accounts {
  /** The password rules that apply to members of `org`. */
  passwordRulesFor(org: Organization): PasswordRules;
  /** Validates and builds a user with its password hash; nothing is stored. */
  prepareUser(org: Organization, input: NewUserInput): Promise<{ user: User; passwordHash: string }>;
  createUser(org: Organization, input: NewUserInput): Promise<User>;
  /**
   * Validates an invited person and builds them with `invitedAt` set and a password no one knows
   * (the hash of 32 random bytes that are thrown away): only their invitation link lets them in.
   * Nothing is stored.
   */
  prepareInvitedUser(org: Organization, input: InvitedUserInput): Promise<{ user: User; passwordHash: string }>;
  /**
   * The hash of a password a person chose through an emailed link (reset, invitation), after the
   * organization's rules; weak_password with the field's message otherwise.
   */
  hashChosenPassword(account: UserWithOrganization, password: string, name?: string | null): Promise<string>;
  /**
   * Checks email + password under the brute-force throttle. An unknown email and a wrong password
   * give the same answer after the same work (a dummy hash is verified), so neither the response
   * nor its timing reveals whether an account exists. `device` is the id of a valid device cookie
   * for this email (see device-cookies.ts): the attempt then counts against that device's budget.
   */
  verifyPassword(input: { email: string; password: string; ip: string; device?: string }): Promise<PasswordSignIn>;
  /**
   * Checks email + password without a throttle of its own: for callers that guard it with their
   * own attempt budget (the legacy grant), so that its failures never slow the web sign-in.
   */
  checkPassword(input: { email: string; password: string; ip: string; via?: SignInChannel }): Promise<PasswordSignIn>;
  /**
   * Records that the brute-force throttle refused an attempt on this email's account, with how the
   * attempt came (`detail`: method, channel, wait); nothing for an email no one has.
   */
  recordThrottled(email: string, detail: Record<string, unknown>): Promise<void>;
  /**
   * Resolves an issued subject identifier (the user id) to the person and their organization. A
   * disabled person is not found: nothing signed in as them works while they are disabled.
   */
  findBySubject(subject: string): Promise<UserWithOrganization | undefined>;
  /** A person by id, only inside their own organization; a disabled person is not found either. */
  findAccount(orgId: string, userId: string): Promise<UserWithOrganization | undefined>;
  /**
   * The person a factor proved on its own (a passkey), to sign them in: undefined when unknown, and
   * refused with account_disabled while disabled (they proved who they are, so they may know why).
   */
  signInAccount(orgId: string, userId: string): Promise<UserWithOrganization | undefined>;
  /** Changes a password after checking the current one (under the same throttle as sign-in). */
  changePassword(
    account: UserWithOrganization,
    input: { current: string; password: string; ip: string },
  ): Promise<void>;
  /**
   * Sets a new password in place of an expired one, during a sign-in that has just proven the
   * current password and every other factor; the new one must differ from it.
   */
  renewExpiredPassword(account: UserWithOrganization, input: { password: string; ip: string }): Promise<void>;
}

export function createAccounts(deps: {
  users: UserStore;
  hasher: PasswordHasher;
  policy: PasswordPolicy;
  throttle: Throttle;
  audit: Audit;
  clock: Clock;
  random: Random;
  defaults: { minLength: number; minLengthWithTfa: number; maxLength: number };
}): Accounts {
  const { users, hasher, policy, throttle, audit, clock, random, defaults } = deps;
  let dummyHash: Promise<string> | undefined;
  const getDummyHash = () => (dummyHash ??= hasher.hash(random.token(16)));

  const passwordRulesFor = (org: Organization): PasswordRules => ({
    minLength: org.passwordMinLength ?? (org.enforceTfa ? defaults.minLengthWithTfa : defaults.minLength),
    maxLength: defaults.maxLength,
  });

  /** Field messages for the details of a new person (everything but the password). */
  function detailProblems(org: Organization, input: Omit<NewUserInput, 'password'>) {
    const fields: Record<string, string> = {};
    const email = emailSchema.safeParse(input.email);
    if (!email.success) fields.email = email.error.issues[0]!.message;
    const name = input.name ? displayNameSchema.safeParse(input.name) : undefined;
    if (name && !name.success) fields.name = name.error.issues[0]!.message;
    // Stored in E.164; a national number is read in the organization's default country.
    const phone = input.phone ? parsePhoneNumber(input.phone, org.defaultCountry) : undefined;
    if (phone && !phone.ok) fields.phone = phone.message;
    return { fields, email: email.data, name: name?.data ?? null, phone: phone?.ok ? phone.e164 : null };
  }

  function newUser(org: Organization, details: ReturnType<typeof detailProblems>, role: Role | undefined): User {
    const now = clock.now();
    return {
      id: random.uuid(),
      orgId: org.id,
      email: details.email!,
      name: details.name,
      phone: details.phone,
      role: role ?? 'member',
      createdAt: now,
      passwordChangedAt: now,
      disabledAt: null,
      tfaGraceUntil: null,
      invitedAt: null,
    };
  }

  async function prepareUser(org: Organization, input: NewUserInput) {
    const details = detailProblems(org, input);
    const { fields } = details;
    const problems = policy.check(input.password, passwordRulesFor(org), {
      email: input.email,
      name: input.name,
      organization: org.name,
    });
    if (problems.length > 0) fields.password = problems.map((p) => p.message).join(' ');
    if (Object.keys(fields).length > 0) {
      throw domainErrors.raise('invalid_user', { fields });
    }
    return {
      user: newUser(org, details, input.role),
      passwordHash: await hasher.hash(normalizePassword(input.password)),
    };
  }

  /** The organization's password rules, with the reason for a refusal next to the password field. */
  function requireAcceptable({ user, organization }: UserWithOrganization, password: string): void {
    const problems = policy.check(password, passwordRulesFor(organization), {
      email: user.email,
      name: user.name,
      organization: organization.name,
    });
    if (problems.length > 0)
      throw domainErrors.raise('weak_password', { fields: { password: problems.map((p) => p.message).join(' ') } });
  }

  const samePassword = () =>
    domainErrors.raise('same_password', { fields: { password: 'The new password must differ from the current one.' } });

  async function verifyPassword({
    email,
    password,
    ip,
    device,
  }: {
    email: string;
    password: string;
    ip: string;
    device?: string;
  }): Promise<PasswordSignIn> {
    const keys = { account: normalizeEmail(email), ip, ...(device === undefined ? {} : { device }) };
    const attempt = await throttle.attempt(keys, async () => {
      const outcome = await checkPassword(email, password, ip);
      // The right password of a disabled account is no failed guess: it does not slow the account down.
      return { ok: outcome.ok || outcome.reason === 'disabled', outcome };
    });
    if (attempt.status === 'checked') return attempt.outcome.outcome;
    // A delay runs, or another attempt for this account is being checked right now: wait a turn.
    const retryAfterSeconds = attempt.status === 'wait' ? attempt.seconds : 1;
    if (attempt.report)
      await recordThrottled(email, { method: 'password', retryAfterSeconds, concurrent: attempt.status === 'busy' });
    return { ok: false, reason: 'throttled', retryAfterSeconds };
  }

  async function recordThrottled(email: string, detail: Record<string, unknown>): Promise<void> {
    const found = await users.findUserByEmail(email);
    if (found)
      await audit.record({ type: 'signin.throttled', orgId: found.organization.id, userId: found.user.id, detail });
  }

  async function checkPassword(
    email: string,
    password: string,
    ip: string,
    via?: SignInChannel,
  ): Promise<PasswordSignIn> {
    const found = await users.findUserByEmail(email);
    const candidate = normalizePassword(password);
    const valid = await hasher.verify(found?.passwordHash ?? (await getDummyHash()), candidate);
    if (!found || !valid) {
      if (found) {
        await audit.record({
          type: 'signin.password_failed',
          orgId: found.organization.id,
          userId: found.user.id,
          ip,
          detail: { method: 'password', ...(via ? { via } : {}) },
        });
      }
      return { ok: false, reason: 'invalid_credentials' };
    }
    if (found.user.disabledAt !== null) {
      await audit.record({ type: 'signin.refused_disabled', orgId: found.organization.id, userId: found.user.id, ip });
      return { ok: false, reason: 'disabled' };
    }
    if (hasher.needsRehash(found.passwordHash)) {
      await users.updatePasswordHash(found.organization.id, found.user.id, await hasher.hash(candidate));
    }
    return { ok: true, account: { user: found.user, organization: found.organization } };
  }

  return {
    passwordRulesFor,
    prepareUser,
    async findBySubject(subject) {
      const found = await users.findUserBySubject(subject);
      return found?.user.disabledAt === null ? found : undefined;
    },
    checkPassword: ({ email, password, ip, via }) => checkPassword(email, password, ip, via),
    recordThrottled,
    async findAccount(orgId, userId) {
      const found = await users.findUserBySubject(userId);
      return found?.organization.id === orgId && found.user.disabledAt === null ? found : undefined;
    },
    async signInAccount(orgId, userId) {
      const found = await users.findUserBySubject(userId);
      if (found?.organization.id !== orgId) return undefined;
      if (found.user.disabledAt !== null) throw domainErrors.raise('account_disabled');
      return found;
    },
    verifyPassword,
    async changePassword({ user, organization }, { current, password, ip }) {
      const checked = await verifyPassword({ email: user.email, password: current, ip });
      if (!checked.ok) {
        const message =
          checked.reason === 'throttled'
            ? `Too many failed attempts. Your current password was not checked: wait ${secondsText(checked.retryAfterSeconds)}, then enter it again.`
            : 'Your current password is not right.';
        throw domainErrors.raise(checked.reason === 'throttled' ? 'throttled' : 'wrong_password', {
          message,
          fields: { current: message },
        });
      }
      requireAcceptable({ user, organization }, password);
      if (normalizePassword(password) === normalizePassword(current)) throw samePassword();
      await users.updatePassword(organization.id, user.id, await hasher.hash(normalizePassword(password)), clock.now());
      await audit.record({ type: 'password.changed', orgId: organization.id, userId: user.id, ip });
    },
    async prepareInvitedUser(org, input) {
      const details = detailProblems(org, input);
      if (Object.keys(details.fields).length > 0) throw domainErrors.raise('invalid_user', { fields: details.fields });
      const user = { ...newUser(org, details, input.role), invitedAt: clock.now() };
      return { user, passwordHash: await hasher.hash(random.token(32)) };
    },
    async hashChosenPassword({ user, organization }, password, name = user.name) {
      const problems = policy.check(password, passwordRulesFor(organization), {
        email: user.email,
        name,
        organization: organization.name,
      });
      if (problems.length > 0)
        throw domainErrors.raise('weak_password', { fields: { password: problems.map((p) => p.message).join(' ') } });
      return hasher.hash(normalizePassword(password));
    },
    async renewExpiredPassword({ user, organization }, { password, ip }) {
      requireAcceptable({ user, organization }, password);
      const stored = await users.findUserByEmail(user.email);
      if (stored && (await hasher.verify(stored.passwordHash, normalizePassword(password)))) throw samePassword();
      await users.updatePassword(organization.id, user.id, await hasher.hash(normalizePassword(password)), clock.now());
      await audit.record({
        type: 'password.changed',
        orgId: organization.id,
        userId: user.id,
        ip,
        detail: { reason: 'expired' },
      });
    },
    async createUser(org, input) {
      const { user, passwordHash } = await prepareUser(org, input);
      await users.insertUser(user, passwordHash);
      await audit.record({ type: 'user.created', orgId: org.id, userId: user.id, detail: { role: user.role } });
      return user;
    },
  };
}
