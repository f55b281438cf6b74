import { beforeEach, describe, expect, it } from 'vitest';

import { createAccessCodes, type AccessCodes } from '../../../src/domain/access-codes.ts';
import { createAudit } from '../../../src/domain/audit.ts';
import { createAccessCodeFactor } from '../../../src/factors/access-code/access-code.ts';
import type { Factor, Person } from '../../../src/factors/factor.ts';
import { createCryptoRandom } from '../../../src/ports/random.ts';
import { createKeyedHash } from '../../../src/security/keyed-hash.ts';
import { createSqlAuditStore } from '../../../src/storage/sql/audit-store.ts';
import { openSqlDatabase, type SqlDatabase } from '../../../src/storage/sql/database.ts';
import { createSqlPersonTokenStore } from '../../../src/storage/sql/person-token-store.ts';
import { createTestClock, type TestClock } from '../../helpers/clock.ts';
import { insertPerson } from '../../helpers/people.ts';

/** No 0/O, 1/I/L: read aloud or off a screen without doubt. */
const SYMBOL = '[ABCDEFGHJKMNPQRSTUVWXYZ23456789]';
const FORMAT = new RegExp(`^${SYMBOL}{4}-${SYMBOL}{4}-${SYMBOL}{4}$`);
const HOUR = 3_600_000;
const ADMIN = 'grace@example.com';

let sql: SqlDatabase;
let clock: TestClock;
let codes: AccessCodes;
let factor: Factor<{ code: string }>;
let alice: Person;

beforeEach(async () => {
  sql = openSqlDatabase({ kind: 'sqlite', filename: ':memory:' });
  await sql.migrate();
  const random = createCryptoRandom();
  clock = createTestClock(Date.UTC(2031, 0, 1));
  codes = createAccessCodes({
    tokens: createSqlPersonTokenStore(sql.db),
    keyedHash: createKeyedHash('p'.repeat(32)),
    clock,
    random,
    audit: createAudit({ store: createSqlAuditStore(sql.db), clock, random }),
  });
  factor = createAccessCodeFactor({ codes });
  alice = await insertPerson(sql.db);
  return () => sql.close();
});

const issue = (person: Person, minutes = 60) => codes.issue(person, { minutes, actor: ADMIN });
const verify = (person: Person, code: string) =>
  factor.verify(person, [], factor.input.parse({ code }), { binding: 'interaction-uid-1', ip: '203.0.113.7' });
const events = () => sql.db.selectFrom('audit_events').select(['type', 'actor', 'detail']).orderBy('at').execute();

describe('temporary access codes', () => {
  it('are 12 symbols of the unambiguous alphabet in groups of four; only a keyed hash is stored', async () => {
    const { code, expiresAt } = await issue(alice);
    expect(code).toMatch(FORMAT);
    expect(expiresAt).toBe(clock.now() + HOUR);
    const rows = await sql.db.selectFrom('person_tokens').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ purpose: 'access_code', created_by: ADMIN, used_at: null });
    expect(JSON.stringify(rows)).not.toContain(code.replaceAll('-', ''));
    expect(rows[0]!.token_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('live for 15 minutes to 24 hours, as the administrator chooses, and no other lifetime', async () => {
    for (const minutes of [14, 1441, 30.5, Number.NaN]) {
      await expect(issue(alice, minutes)).rejects.toMatchObject({ code: 'invalid_access_code_lifetime', status: 400 });
    }
    expect(await codes.live(alice)).toBeNull();
    await issue(alice, 15);
    expect(await codes.live(alice)).toEqual({
      createdAt: clock.now(),
      expiresAt: clock.now() + 15 * 60_000,
      createdBy: ADMIN,
    });
    await issue(alice, 24 * 60);
    expect((await codes.live(alice))?.expiresAt).toBe(clock.now() + 24 * HOUR);
  });

  it('prove the person once, however the code is typed, and say what they prove', async () => {
    const { code } = await issue(alice);
    const typed = ` ${code.toLowerCase().replaceAll('-', ' ')} `;
    expect(await verify(alice, typed)).toEqual({
      ok: true,
      proven: { method: 'access-code', amr: ['otp'], factorId: null },
    });
    expect(await verify(alice, code)).toMatchObject({ ok: false, reason: 'invalid' });
    expect(await codes.live(alice)).toBeNull();
  });

  it('a concurrent burst of the same code is spent exactly once', async () => {
    const { code } = await issue(alice);
    const outcomes = await Promise.all(Array.from({ length: 12 }, () => codes.use(alice, code)));
    expect(outcomes.filter((o) => o === 'used')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'refused')).toHaveLength(11);
  });

  it('stop working when they expire, when a newer one is made, and when revoked', async () => {
    const first = await issue(alice, 15);
    clock.advance(15 * 60_000);
    expect(await codes.use(alice, first.code)).toBe('refused');
    const older = await issue(alice);
    const newer = await issue(alice);
    expect(await codes.use(alice, older.code)).toBe('refused');
    expect(await codes.revoke(alice, ADMIN)).toBe(true);
    expect(await codes.use(alice, newer.code)).toBe('refused');
    expect(await codes.revoke(alice, ADMIN)).toBe(false);
  });

  it("one person's code proves nobody else", async () => {
    const bob = await insertPerson(sql.db);
    const { code } = await issue(alice);
    expect(await codes.use(bob, code)).toBe('refused');
    expect(await codes.use(alice, code)).toBe('used');
  });

  it('refuse what cannot be a code with a message saying what one looks like', async () => {
    await issue(alice);
    for (const typed of ['', 'K7QM-X3TD', 'K7QM-X3TD-9FH0', 'K7QM-X3TD-9FHP-A']) {
      expect(await verify(alice, typed)).toMatchObject({
        ok: false,
        reason: 'malformed',
        message: expect.stringContaining('12-character code'),
      });
    }
  });

  it('record who issued and revoked a code, and its use, never the code', async () => {
    const { code } = await issue(alice);
    await codes.use(alice, code);
    await issue(alice);
    await codes.revoke(alice, ADMIN);
    const trail = await events();
    expect(trail.map((e) => [e.type, e.actor])).toEqual([
      ['access_code.issued', ADMIN],
      ['access_code.used', null],
      ['access_code.issued', ADMIN],
      ['access_code.revoked', ADMIN],
    ]);
    expect(JSON.stringify(trail)).not.toContain(code.replaceAll('-', '').slice(0, 8));
  });
});

describe('the access code factor', () => {
  it('is a bootstrap without enrolment, offered only while a code is live', async () => {
    expect(factor.bootstrap).toBe(true);
    expect(factor.enrolment).toBeUndefined();
    expect(await factor.available!(alice)).toBeNull();
    const { code } = await issue(alice);
    expect(await factor.available!(alice)).toEqual({
      id: 'access-code',
      kind: 'access-code',
      label: 'Temporary access code',
      detail: 'from your administrator',
    });
    await verify(alice, code);
    expect(await factor.available!(alice)).toBeNull();
  });
});
