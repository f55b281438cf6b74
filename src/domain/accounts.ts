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
import { normalizePassword, type PasswordPolicy, type PasswordRules } from './passwords/policy.ts';
import type { Throttle } from './throttle.ts';
import { secondsText } from './duration-text.ts';
import { domainErrors } from './error-codes.ts';

export const roleSchema = z.enum(['member', 'admin']);

/** E.164: a plus, a country code that does not start with 0, at most 15 digits (ITU-T E.164 §6). */
export const phoneSchema = z
  .string()
  .trim()
  .regex(/^\+[1-9]\d{6,14}$/, 'Enter the number in international format, like +14155550123.');

export const displayNameSchema = z.string().trim().min(1, 'Enter a name.').max(200, 'Use at most 200 characters.');

export interface NewUserInput {
  email: string;
  name?: string | null;
  phone?: string | null;
  role?: Role;
  password: string;
}

export type PasswordSignIn =
  | { ok: true; account: UserWithOrganization }
  | { ok: false; reason: 'invalid_credentials' }
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
  /** Resolves an issued subject identifier (the user id) to the person and their organization. */
  findBySubject(subject: string): Promise<UserWithOrganization | undefined>;
  /** A person by id, only inside their own organization. */
  findAccount(orgId: string, userId: string): Promise<UserWithOrganization | undefined>;
  /** Changes a password after checking the current one (under the same throttle as sign-in). */
  changePassword(
    account: UserWithOrganization,
    input: { current: string; password: string; ip: string },
  ): Promise<void>;
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

  async function prepareUser(org: Organization, input: NewUserInput) {
    const fields: Record<string, string> = {};
    const email = emailSchema.safeParse(input.email);
    if (!email.success) fields.email = email.error.issues[0]!.message;
    const name = input.name ? displayNameSchema.safeParse(input.name) : undefined;
    if (name && !name.success) fields.name = name.error.issues[0]!.message;
    const phone = input.phone ? phoneSchema.safeParse(input.phone) : undefined;
    if (phone && !phone.success) fields.phone = phone.error.issues[0]!.message;
    const problems = policy.check(input.password, passwordRulesFor(org), {
      email: input.email,
      name: input.name,
      organization: org.name,
    });
    if (problems.length > 0) fields.password = problems.map((p) => p.message).join(' ');
    if (Object.keys(fields).length > 0) {
      throw domainErrors.raise('invalid_user', { fields });
    }
    const now = clock.now();
    const user: User = {
      id: random.uuid(),
      orgId: org.id,
      email: email.data!,
      name: name?.data ?? null,
      phone: phone?.data ?? null,
      role: input.role ?? 'member',
      createdAt: now,
      passwordChangedAt: now,
      disabledAt: null,
      tfaGraceUntil: null,
      invitedAt: null,
    };
    return { user, passwordHash: await hasher.hash(normalizePassword(input.password)) };
  }

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
    const attempt = await throttle.attempt(keys, () => checkPassword(email, password, ip));
    if (attempt.status === 'checked') return attempt.outcome;
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
    if (hasher.needsRehash(found.passwordHash)) {
      await users.updatePasswordHash(found.organization.id, found.user.id, await hasher.hash(candidate));
    }
    return { ok: true, account: { user: found.user, organization: found.organization } };
  }

  return {
    passwordRulesFor,
    prepareUser,
    findBySubject: (subject) => users.findUserBySubject(subject),
    checkPassword: ({ email, password, ip, via }) => checkPassword(email, password, ip, via),
    recordThrottled,
    async findAccount(orgId, userId) {
      const found = await users.findUserBySubject(userId);
      return found?.organization.id === orgId ? found : undefined;
    },
    verifyPassword,
    async changePassword({ user, organization }, { current, password, ip }) {
      const checked = await verifyPassword({ email: user.email, password: current, ip });
      if (!checked.ok) {
        const message =
          checked.reason === 'throttled'
            ? `Too many failed attempts. Wait ${secondsText(checked.retryAfterSeconds)}, then try again.`
            : 'Your current password is not right.';
        throw domainErrors.raise(checked.reason === 'throttled' ? 'throttled' : 'wrong_password', {
          message,
          fields: { current: message },
        });
      }
      const problems = policy.check(password, passwordRulesFor(organization), {
        email: user.email,
        name: user.name,
        organization: organization.name,
      });
      if (problems.length > 0)
        throw domainErrors.raise('weak_password', { fields: { password: problems.map((p) => p.message).join(' ') } });
      if (normalizePassword(password) === normalizePassword(current)) {
        throw domainErrors.raise('same_password', {
          fields: { password: 'The new password must differ from the current one.' },
        });
      }
      await users.updatePassword(organization.id, user.id, await hasher.hash(normalizePassword(password)), clock.now());
      await audit.record({ type: 'password.changed', orgId: organization.id, userId: user.id, ip });
    },
    async createUser(org, input) {
      const { user, passwordHash } = await prepareUser(org, input);
      await users.insertUser(user, passwordHash);
      await audit.record({ type: 'user.created', orgId: org.id, userId: user.id, detail: { role: user.role } });
      return user;
    },
  };
}
