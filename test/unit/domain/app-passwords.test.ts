import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';

import {
  createAppPasswords,
  normalizeAppPassword,
  type AppPasswords,
  type NewAppPassword,
} from '../../../src/domain/app-passwords.ts';
import { createAudit } from '../../../src/domain/audit.ts';
import { AppError } from '../../../src/domain/errors.ts';
import type { Person } from '../../../src/factors/factor.ts';
import type { AppPasswordStore, ProtocolScope } from '../../../src/ports/app-password-store.ts';
import { createCryptoRandom, type Random } from '../../../src/ports/random.ts';
import type { AuditStore, Organization } from '../../../src/ports/stores.ts';
import { createKeyedHash } from '../../../src/security/keyed-hash.ts';
import { createSqlAppPasswordStore } from '../../../src/storage/sql/app-password-store.ts';
import { createSqlAuditStore } from '../../../src/storage/sql/audit-store.ts';
import { openSqlDatabase, type SqlDatabase } from '../../../src/storage/sql/database.ts';
import { createRecordingTokens } from '../../helpers/app-password-fakes.ts';
import { createTestClock } from '../../helpers/clock.ts';
import { anOrganization, insertOrganization, insertPerson } from '../../helpers/people.ts';

const T0 = Date.UTC(2031, 0, 1);
const DAY = 86_400_000;
const IP = '203.0.113.7';
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
const SHOWN = new RegExp(`^[${ALPHABET}]{4}( [${ALPHABET}]{4}){4}$`);
const keyedHash = createKeyedHash('a pepper for the app password tests');
const THUNDERBIRD: NewAppPassword = { name: 'Thunderbird on laptop', scopes: ['imap', 'smtp'] };

/** Crypto randomness, except that `bytes` hands out the given chunks first. */
function createScriptedRandom(...chunks: number[][]): Random {
  const random = createCryptoRandom();
  return { ...random, bytes: (length) => Buffer.from(chunks.shift() ?? [...random.bytes(length)]) };
}

let sql: SqlDatabase;
let store: AppPasswordStore;
let auditStore: AuditStore;
let tokens: ReturnType<typeof createRecordingTokens>;
let appPasswords: AppPasswords;
let org: Organization;
let alice: Person;
let bob: Person;

function build(random: Random = createCryptoRandom()): AppPasswords {
  const clock = createTestClock(T0);
  const audit = createAudit({ store: auditStore, clock, random: createCryptoRandom() });
  return createAppPasswords({ store, tokens, keyedHash, audit, clock, random, transactions: sql.transactions });
}

beforeEach(async () => {
  sql = openSqlDatabase({ kind: 'sqlite', filename: ':memory:' });
  await sql.migrate();
  store = createSqlAppPasswordStore(sql.db);
  auditStore = createSqlAuditStore(sql.db);
  tokens = createRecordingTokens();
  appPasswords = build();
  org = await insertOrganization(sql.db, { name: 'Analytical Engines', appPasswords: 'everyone' });
  alice = await insertPerson(sql.db, org);
  bob = await insertPerson(sql.db, org);
  return () => sql.close();
});

const create = (input: Partial<NewAppPassword> = {}, who = alice, where = org, hasTfa = false) =>
  appPasswords.create(who, where, hasTfa, { ...THUNDERBIRD, ...input }, IP);

async function refusal(pending: Promise<unknown>): Promise<AppError> {
  const error = await pending.then(
    () => new Error('expected a refusal'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

const eventsOf = (person: Person) => auditStore.listAuditEvents(person.orgId, person.userId, 50);

async function expectNothingHappened(person: Person): Promise<void> {
  expect(await store.findAppPasswords(person.orgId, person.userId)).toEqual([]);
  expect(await eventsOf(person)).toEqual([]);
  expect(tokens.revoked).toEqual([]);
}

describe('creating an app password', () => {
  it('shows the password once as five groups of four from a 31-symbol alphabet (20 symbols, over 80 bits)', async () => {
    const shown = new Set<string>();
    for (let i = 0; i < 20; i++) shown.add((await create()).password);
    expect(shown.size).toBe(20);
    for (const password of shown) expect(password).toMatch(SHOWN);
    expect(20 * Math.log2(ALPHABET.length)).toBeGreaterThanOrEqual(80);
  });

  it('draws symbols without bias: random bytes 248–255 are thrown away (256 is not a multiple of 31)', async () => {
    const biased = Array.from({ length: 20 }, (_, i) => 248 + (i % 8));
    const fair = [247, 31, ...Array.from({ length: 18 }, (_, i) => i + 2)];
    appPasswords = build(createScriptedRandom(biased, fair));
    expect((await create()).password).toBe('9acd efgh jkmn pqrs tuvw');
  });

  it('stores only the HMAC digest of the normalized password; the plain text appears nowhere in the row', async () => {
    const { password, summary } = await create();
    const rows = await sql.db.selectFrom('app_passwords').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.digest).toBe(keyedHash.digest('app-password', password.replaceAll(' ', '')));
    expect(rows[0]!.digest).toBe(keyedHash.digest('app-password', normalizeAppPassword(password.toUpperCase())));
    const stored = JSON.stringify(rows[0]).toLowerCase();
    expect(stored).not.toContain(password);
    expect(stored).not.toContain(normalizeAppPassword(password));
    expect(summary).not.toHaveProperty('digest');
  });

  it('returns and lists a summary of what was stored, without the digest, owner or organization', async () => {
    const { summary } = await create({ name: '  Phone  ', scopes: ['dav', 'imap', 'dav'] });
    expect(summary).toEqual({
      id: expect.any(String),
      name: 'Phone',
      scopes: ['imap', 'dav'],
      createdAt: T0,
      expiresAt: null,
      lastUsedAt: null,
      lastUsedIp: null,
      lastUsedProtocol: null,
    });
    expect(await appPasswords.list(alice)).toEqual([summary]);
    expect(await appPasswords.list(bob)).toEqual([]);
  });

  it('records app_password.created with the name and scopes but no secret', async () => {
    const { password, summary } = await create();
    const events = await eventsOf(alice);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'app_password.created',
        ip: IP,
        at: T0,
        detail: { id: summary.id, name: THUNDERBIRD.name, scopes: THUNDERBIRD.scopes },
      }),
    ]);
    expect(JSON.stringify(events)).not.toContain(normalizeAppPassword(password));
  });

  it('sets the expiry that many days ahead, and none when none is asked for', async () => {
    expect((await create({ expiresInDays: 30 })).summary.expiresAt).toBe(T0 + 30 * DAY);
    expect((await create({ expiresInDays: 1 })).summary.expiresAt).toBe(T0 + DAY);
    expect((await create({ expiresInDays: 3650 })).summary.expiresAt).toBe(T0 + 3650 * DAY);
    expect((await create({ expiresInDays: null })).summary.expiresAt).toBeNull();
    expect((await create()).summary.expiresAt).toBeNull();
  });

  it('accepts a name of exactly 60 characters', async () => {
    expect((await create({ name: 'x'.repeat(60) })).summary.name).toBe('x'.repeat(60));
  });
});

describe('bad input gives field errors and creates nothing', () => {
  it.each([
    ['an empty name', { name: '' }, 'name'],
    ['a name of spaces only', { name: '   ' }, 'name'],
    ['a 61-character name', { name: 'x'.repeat(61) }, 'name'],
    ['no scopes', { scopes: [] }, 'scopes'],
    ['an unknown scope', { scopes: ['imap', 'ftp'] as unknown as ProtocolScope[] }, 'scopes'],
    ['an expiry of 0 days', { expiresInDays: 0 }, 'expiresInDays'],
    ['an expiry over ten years', { expiresInDays: 3651 }, 'expiresInDays'],
    ['a fractional expiry', { expiresInDays: 1.5 }, 'expiresInDays'],
  ] satisfies [string, Partial<NewAppPassword>, string][])('%s', async (_, input, field) => {
    const error = await refusal(create(input));
    expect(error).toMatchObject({ code: 'invalid_app_password', status: 400 });
    expect(Object.keys(error.fields)).toEqual([field]);
    expect(error.fields[field]).toMatch(/\S/);
    await expectNothingHappened(alice);
  });

  it('names every bad field at once', async () => {
    const error = await refusal(create({ name: '', scopes: [], expiresInDays: 0 }));
    expect(Object.keys(error.fields).sort()).toEqual(['expiresInDays', 'name', 'scopes']);
    await expectNothingHappened(alice);
  });
});

describe("the organization's policy", () => {
  it("'none' refuses everyone, with the reason naming the organization", async () => {
    const none = await insertOrganization(sql.db, { name: 'Difference Engines', appPasswords: 'none' });
    const carol = await insertPerson(sql.db, none);
    const reason = 'Difference Engines does not allow app passwords.';
    for (const hasTfa of [true, false]) {
      expect(appPasswords.mayCreate(none, hasTfa)).toEqual({ allowed: false, reason });
      expect(appPasswords.mayCreate({ ...none, enforceTfa: true }, hasTfa)).toEqual({ allowed: false, reason });
      const error = await refusal(create({}, carol, none, hasTfa));
      expect(error).toMatchObject({ code: 'app_passwords_off', status: 403, message: reason });
    }
    await expectNothingHappened(carol);
  });

  it("'tfa' refuses a person without TFA, with the reason, and nothing is created", async () => {
    const tfa = await insertOrganization(sql.db, { appPasswords: 'tfa' });
    const carol = await insertPerson(sql.db, tfa);
    const verdict = appPasswords.mayCreate(tfa, false);
    expect(verdict).toEqual({ allowed: false, reason: expect.stringMatching(/two-step verification/) });
    const { reason } = verdict as { reason: string };
    const error = await refusal(create({}, carol, tfa, false));
    expect(error).toMatchObject({ code: 'app_passwords_off', status: 403, message: reason });
    await expectNothingHappened(carol);
  });

  it("'tfa' allows a person with TFA, and a person without it where the organization enforces TFA", async () => {
    const tfa = await insertOrganization(sql.db, { appPasswords: 'tfa' });
    const enforcing = await insertOrganization(sql.db, { appPasswords: 'tfa', enforceTfa: true });
    const carol = await insertPerson(sql.db, tfa);
    const dave = await insertPerson(sql.db, enforcing);
    expect(appPasswords.mayCreate(tfa, true)).toEqual({ allowed: true });
    expect(appPasswords.mayCreate(enforcing, false)).toEqual({ allowed: true });
    await create({}, carol, tfa, true);
    await create({}, dave, enforcing, false);
    expect(await appPasswords.list(carol)).toHaveLength(1);
    expect(await appPasswords.list(dave)).toHaveLength(1);
  });

  it("'everyone' allows a person without TFA", async () => {
    expect(appPasswords.mayCreate(anOrganization({ appPasswords: 'everyone' }), false)).toEqual({ allowed: true });
    await create({}, alice, org, false);
    expect(await appPasswords.list(alice)).toHaveLength(1);
  });
});

describe('revoking', () => {
  it('deletes the app password, ends its tokens and records app_password.revoked', async () => {
    const { summary } = await create();
    const kept = (await create({ name: 'Phone' })).summary;
    await appPasswords.revoke(alice, summary.id, '198.51.100.4');
    expect(await appPasswords.list(alice)).toEqual([kept]);
    expect(tokens.revoked).toEqual([summary.id]);
    expect((await eventsOf(alice)).filter((e) => e.type === 'app_password.revoked')).toEqual([
      expect.objectContaining({ ip: '198.51.100.4', detail: { id: summary.id } }),
    ]);
  });

  it("refuses someone else's app password with 404 unknown_app_password and touches nothing", async () => {
    const { summary } = await create();
    const eventsBefore = await eventsOf(alice);
    const carol = await insertPerson(sql.db);
    for (const stranger of [bob, carol, { ...carol, userId: alice.userId }]) {
      const error = await refusal(appPasswords.revoke(stranger, summary.id, IP));
      expect(error).toMatchObject({ code: 'unknown_app_password', status: 404 });
    }
    expect(await appPasswords.list(alice)).toEqual([summary]);
    expect(tokens.revoked).toEqual([]);
    expect(await eventsOf(alice)).toEqual(eventsBefore);
    expect(await eventsOf(bob)).toEqual([]);
    expect(await eventsOf(carol)).toEqual([]);
  });

  it('refuses an id that does not exist, or no longer does, with 404', async () => {
    const { summary } = await create();
    await appPasswords.revoke(alice, summary.id, IP);
    for (const id of [summary.id, randomUUID()]) {
      expect(await refusal(appPasswords.revoke(alice, id, IP))).toMatchObject({ code: 'unknown_app_password' });
    }
    expect(tokens.revoked).toEqual([summary.id]);
  });

  it("revokeAll deletes every one of the person's app passwords, ends the tokens of each, and records one event", async () => {
    const ids = [(await create()).summary.id, (await create({ name: 'Phone' })).summary.id];
    const bobs = (await create({}, bob)).summary;
    expect(await appPasswords.revokeAll(alice, IP)).toBe(2);
    expect(await appPasswords.list(alice)).toEqual([]);
    expect([...tokens.revoked].sort()).toEqual([...ids].sort());
    expect((await eventsOf(alice)).filter((e) => e.type === 'app_password.revoked')).toEqual([
      expect.objectContaining({ ip: IP, detail: { all: true, count: 2 } }),
    ]);
    expect(await appPasswords.list(bob)).toEqual([bobs]);
  });

  it('revokeAll with nothing to revoke answers 0 and records nothing', async () => {
    expect(await appPasswords.revokeAll(alice, IP)).toBe(0);
    await expectNothingHappened(alice);
  });
});
