import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { createAudit, type Audit, type AuditInput } from '../../../src/domain/audit.ts';
import { createSecurityNotices, type SecurityNotices } from '../../../src/domain/security-notices.ts';
import { utcText } from '../../../src/domain/security-notice-texts.ts';
import { createCryptoRandom } from '../../../src/ports/random.ts';
import type { RequestInfo } from '../../../src/ports/request-context.ts';
import type { UserWithOrganization } from '../../../src/ports/stores.ts';
import { createSqlAuditStore } from '../../../src/storage/sql/audit-store.ts';
import { openSqlDatabase, type SqlDatabase } from '../../../src/storage/sql/database.ts';
import { createSqlUserStore } from '../../../src/storage/sql/user-store.ts';
import { createCollectingMailer } from '../../helpers/app-password-fakes.ts';
import { createTestClock } from '../../helpers/clock.ts';
import { insertAccount } from '../../helpers/people.ts';

const T0 = Date.UTC(2031, 0, 1, 9, 5);
const ACCOUNT_URL = 'https://id.example.test/account';
const FIREFOX_ON_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0';
const METHOD_NAMES: Record<string, string> = { totp: 'Authenticator app', sms: 'Text message' };

let sql: SqlDatabase;
let mailer: ReturnType<typeof createCollectingMailer>;
let notices: SecurityNotices;
let audit: Audit;
let alice: UserWithOrganization;
let request: RequestInfo | undefined;
const errors: unknown[] = [];

beforeEach(async () => {
  sql = openSqlDatabase({ kind: 'sqlite', filename: ':memory:' });
  await sql.migrate();
  mailer = createCollectingMailer();
  errors.length = 0;
  notices = createSecurityNotices({
    users: createSqlUserStore(sql.db),
    mailer,
    accountUrl: ACCOUNT_URL,
    methodName: (kind) => METHOD_NAMES[kind] ?? kind,
    onError: (error) => void errors.push(error),
  });
  request = { ip: '203.0.113.9', userAgent: FIREFOX_ON_WINDOWS, requestId: 'req-1' };
  audit = createAudit({
    store: createSqlAuditStore(sql.db),
    clock: createTestClock(T0),
    random: createCryptoRandom(),
    context: { current: () => request, run: (_info, fn) => fn() },
    onRecorded: notices.notify,
  });
  alice = await insertAccount(sql.db);
});
afterEach(() => sql.close());

/** Records an event about Alice and answers the emails it caused. */
async function emailsFor(event: Omit<AuditInput, 'orgId' | 'userId'>) {
  await audit.record({ orgId: alice.user.orgId, userId: alice.user.id, ...event });
  await notices.settled();
  return mailer.sent;
}

async function onlyEmailFor(event: Omit<AuditInput, 'orgId' | 'userId'>) {
  const sent = await emailsFor(event);
  expect(sent).toHaveLength(1);
  return sent[0]!;
}

describe('every security email', () => {
  it('goes to the person and says what happened, when (UTC), from which browser and address, and what to do', async () => {
    const email = await onlyEmailFor({ type: 'password.changed' });
    expect(email.to).toBe(alice.user.email);
    expect(email.subject).toBe('Your password was changed');
    expect(email.text).toContain(`Hello ${alice.user.email},`);
    expect(email.text).toContain('The password of your account was changed.');
    expect(email.text).toContain('When: Wednesday 1 January 2031, 09:05 UTC');
    expect(email.text).toContain('Browser: Firefox 128 on Windows 10');
    expect(email.text).toContain('Address: 203.0.113.9');
    expect(email.text).toContain(`If it was not you, check your account at ${ACCOUNT_URL}`);
    expect(email.text).toContain('contact your administrator');
    expect(email.text).toContain(`for ${alice.organization.name}`);
  });

  it('says the browser and address are not known for changes made outside a request (the CLI)', async () => {
    request = undefined;
    const email = await onlyEmailFor({ type: 'password.changed' });
    expect(email.text).toContain('Browser: not known');
    expect(email.text).toContain('Address: not known');
  });

  it('never repeats text a stranger put in the User-Agent header or a forwarded address', async () => {
    request = {
      ip: '198.51.100.7 call +1 555 0100',
      userAgent: 'Mozilla/5.0 (Urgent; visit https://evil.example/reset now) EvilBrowser/1.0 (https://evil.example)',
      requestId: 'req-2',
    };
    const email = await onlyEmailFor({ type: 'password.changed' });
    expect(email.text).not.toContain('evil.example');
    expect(email.text).not.toContain('555');
    expect(email.text).toContain('Browser: an unrecognised browser or app');
    expect(email.text).toContain('Address: not known');
  });
});

describe('which events email the person', () => {
  it.each([
    ['tfa.enrolled', { method: 'totp' }, 'Two-step verification was set up for your account', 'Authenticator app'],
    ['tfa.method_added', { method: 'sms' }, 'A two-step verification method was added to your account', 'Text message'],
    [
      'tfa.method_removed',
      { kind: 'sms' },
      'A two-step verification method was removed from your account',
      'Text message',
    ],
    ['tfa.disabled', {}, 'Two-step verification was turned off for your account', 'Only your password protects'],
    ['password.reset', {}, 'Your password was reset', 'reset with a link sent to this address'],
    ['signin.succeeded', { newBrowser: true }, 'New sign-in to your account', 'has not signed in to it before'],
    ['signin.code_replayed', { method: 'totp' }, 'A used sign-in code was refused', 'Authenticator app'],
  ])('%s', async (type, detail, subject, says) => {
    const email = await onlyEmailFor({ type, detail });
    expect(email.subject).toBe(subject);
    expect(email.text).toContain(says);
  });

  it.each([
    ['signin.succeeded', { newBrowser: false }],
    ['signin.password_failed', {}],
    ['recovery_codes.regenerated', {}],
    ['constructor', {}],
    ['toString', {}],
  ])('not %s %j', async (type, detail) => {
    expect(await emailsFor({ type, detail })).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('not an event without a person, or whose person is in another organization', async () => {
    await audit.record({ type: 'password.changed', orgId: alice.user.orgId });
    const bob = await insertAccount(sql.db);
    await audit.record({ type: 'password.changed', orgId: alice.user.orgId, userId: bob.user.id });
    await audit.record({ type: 'password.changed', orgId: alice.user.orgId, userId: 'no-such-person' });
    await notices.settled();
    expect(mailer.sent).toEqual([]);
  });
});

describe('what administrators do', () => {
  it('a reset names the administrator and says what went', async () => {
    const email = await onlyEmailFor({
      type: 'tfa.reset',
      actor: 'grace@acme.example',
      detail: { by: 'grace@acme.example', removed: 2, appPasswordsRevoked: true },
    });
    expect(email.subject).toBe('Your two-step verification was reset');
    expect(email.text).toContain('An administrator (grace@acme.example) reset two-step verification');
    expect(email.text).toContain('signed out everywhere; your app passwords were revoked.');
    expect(email.text).toContain('contact your administrator (grace@acme.example)');
  });

  it('a reset that kept the app passwords does not say they were revoked; one from the CLI names the operator', async () => {
    const email = await onlyEmailFor({ type: 'tfa.reset', detail: { by: 'cli', appPasswordsRevoked: false } });
    expect(email.text).toContain('An operator (from the command line) reset');
    expect(email.text).not.toContain('app passwords were revoked');
  });

  it('removing one of the person’s methods names the administrator', async () => {
    const email = await onlyEmailFor({
      type: 'tfa.method_removed',
      actor: 'grace@acme.example',
      detail: { kind: 'sms' },
    });
    expect(email.text).toContain(
      'An administrator (grace@acme.example) removed this method from your two-step verification: Text message.',
    );
    expect(email.text).toContain('contact your administrator (grace@acme.example)');
  });

  it('turning TFA off for the person names the administrator', async () => {
    const email = await onlyEmailFor({ type: 'tfa.disabled', actor: 'grace@acme.example' });
    expect(email.subject).toBe('An administrator turned off your two-step verification');
    expect(email.text).toContain('An administrator (grace@acme.example) turned off two-step verification');
  });
});

describe('recovery codes', () => {
  it.each([
    [5, 'You have 5 recovery codes left.'],
    [2, 'You have only 2 recovery codes left. Make a new set now at https://id.example.test/account/two-factor'],
    [1, 'You have only 1 recovery code left. Make a new set now'],
    [0, 'You have no recovery codes left. Make a new set now'],
  ])('with %i left says "%s"', async (remaining, says) => {
    const email = await onlyEmailFor({ type: 'recovery_code.used', detail: { remaining } });
    expect(email.subject).toBe('A recovery code was used to sign in to your account');
    expect(email.text).toContain(says);
  });
});

describe('app passwords', () => {
  it('names the app password and its protocols and where to revoke it', async () => {
    const email = await onlyEmailFor({
      type: 'app_password.created',
      detail: { id: 'ap-1', name: 'Thunderbird on laptop', scopes: ['imap', 'smtp'] },
    });
    expect(email.subject).toBe('A new app password was created for your account');
    expect(email.text).toContain('named "Thunderbird on laptop"');
    expect(email.text).toContain('(imap, smtp)');
    expect(email.text).toContain(`revoke it now at ${ACCOUNT_URL}/app-passwords`);
  });
});

describe('in the background', () => {
  it('a person who cannot be read is reported, and neither the change nor its event fails', async () => {
    const failing = createSecurityNotices({
      users: { findUserBySubject: () => Promise.reject(new Error('database gone')) },
      mailer,
      accountUrl: ACCOUNT_URL,
      methodName: (kind) => kind,
      onError: (error) => void errors.push(error),
    });
    const store = createSqlAuditStore(sql.db);
    const quiet = createAudit({
      store,
      clock: createTestClock(T0),
      random: createCryptoRandom(),
      onRecorded: failing.notify,
    });
    await expect(
      quiet.record({ type: 'password.changed', orgId: alice.user.orgId, userId: alice.user.id }),
    ).resolves.toBeUndefined();
    await failing.settled();
    expect(errors).toEqual([new Error('database gone')]);
    expect(mailer.sent).toEqual([]);
    expect(await store.listAuditEvents(alice.user.orgId, alice.user.id, 5)).toHaveLength(1);
  });
});

describe('utcText', () => {
  it('writes the weekday, the month by name, a 24-hour time and UTC', () => {
    expect(utcText(Date.UTC(2031, 11, 24, 23, 59, 59))).toBe('Wednesday 24 December 2031, 23:59 UTC');
    expect(utcText(Date.UTC(2030, 5, 3, 0, 7))).toBe('Monday 3 June 2030, 00:07 UTC');
  });
});
