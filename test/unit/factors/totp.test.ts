import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';

import type { Factor, Person } from '../../../src/factors/factor.ts';
import { createTotpFactor } from '../../../src/factors/totp/totp.ts';
import type { FactorRecord, FactorStore } from '../../../src/ports/factor-stores.ts';
import { createCryptoRandom } from '../../../src/ports/random.ts';
import { createSecretBox } from '../../../src/security/secret-box.ts';
import type { SecretBox } from '../../../src/ports/secret-box.ts';
import { openSqlDatabase, type SqlDatabase } from '../../../src/storage/sql/database.ts';
import { createSqlFactorStore } from '../../../src/storage/sql/factor-store.ts';
import { createTestClock, type TestClock } from '../../helpers/clock.ts';
import { insertPerson } from '../../helpers/people.ts';

/** RFC 6238 with node:crypto alone, so the factor is checked against an oracle that shares no code with it. */
function fromBase32(text: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const char of text) {
    const index = alphabet.indexOf(char);
    if (index < 0) throw new Error(`not base32: ${char}`);
    value = ((value << 5) | index) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** RFC 4226 §5.3 dynamic truncation of HMAC-SHA1 over the RFC 6238 §4.2 step T = floor(t / 30). */
function totp(secret: Buffer, epochSeconds: number, digits = 6): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(epochSeconds / 30)));
  const mac = createHmac('sha1', secret).update(counter).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

describe('the test oracle (RFC 6238 Appendix B, SHA-1)', () => {
  const secret = Buffer.from('12345678901234567890', 'ascii');
  const vectors: [number, string][] = [
    [59, '94287082'],
    [1111111109, '07081804'],
    [1111111111, '14050471'],
    [1234567890, '89005924'],
    [2000000000, '69279037'],
    [20000000000, '65353130'],
  ];
  it.each(vectors)('at T=%i gives %s (and its last 6 digits)', (time, expected) => {
    expect(totp(secret, time, 8)).toBe(expected);
    expect(totp(secret, time)).toBe(expected.slice(2));
  });
});

const T0 = Date.UTC(2031, 0, 1) + 15_000; // the middle of a 30-second step
const box: SecretBox = createSecretBox(randomBytes(32));
const CONTEXT = { binding: 'interaction-uid-1', ip: '203.0.113.7' };

type TotpFactor = ReturnType<typeof createTotpFactor>;
type TotpModel = Extract<Awaited<ReturnType<TotpFactor['enrolment']['begin']>>, { ok: true }>['model'];

let sql: SqlDatabase;
let store: FactorStore;
let totpFactor: TotpFactor;
let clock: TestClock;
let alice: Person;

beforeEach(async () => {
  sql = openSqlDatabase({ kind: 'sqlite', filename: ':memory:' });
  await sql.migrate();
  store = createSqlFactorStore(sql.db);
  clock = createTestClock(T0);
  totpFactor = createTotpFactor({
    store,
    box,
    clock,
    random: createCryptoRandom(),
    issuerFor: async (person) => (person.orgId === alice.orgId ? 'Acme: Labs' : 'Someone else'),
  });
  alice = await insertPerson(sql.db);
  return () => sql.close();
});

const seconds = () => Math.floor(clock.now() / 1000);
const reload = async (person: Person, id: string) => (await store.findFactor(person.orgId, person.userId, id))!;
/** What the routes pass to verify: the person's active records of this kind. */
const activeRecords = async (person: Person) =>
  (await store.findFactors(person.orgId, person.userId)).filter((r) => r.active && r.kind === 'totp');

/** The factor as the routes see it: every call goes through the Factor contract, with the input parsed by its schema. */
const contract = (): Factor<ReturnType<TotpFactor['input']['parse']>> => totpFactor;
const fields = (values: Record<string, unknown>) => totpFactor.input.parse(values);

/** Begins an enrolment; returns its page model. */
async function begin(person: Person, label: string): Promise<TotpModel> {
  const step = await contract().enrolment!.begin(person, fields({ label }), CONTEXT);
  if (!step.ok) throw new Error(`enrolment refused: ${step.message}`);
  return step.model as TotpModel;
}

const confirm = (person: Person, factorId: string, code: string) =>
  contract().enrolment!.confirm(person, fields({ factorId, code }), CONTEXT);
const verify = (person: Person, records: FactorRecord[], factorId: string, code: string) =>
  contract().verify(person, records, fields({ factorId, code }), CONTEXT);

/** An enrolled, confirmed factor whose confirmation step lies five minutes in the past. */
async function anActiveFactor(person = alice): Promise<{ factor: FactorRecord; secret: Buffer }> {
  const enrolment = await begin(person, 'Phone');
  const secret = fromBase32(new URL(enrolment.uri).searchParams.get('secret')!);
  const outcome = await confirm(person, enrolment.factorId, totp(secret, seconds()));
  expect(outcome.ok).toBe(true);
  clock.advance(5 * 60_000);
  return { factor: await reload(person, enrolment.factorId), secret };
}

describe('TOTP enrolment', () => {
  it('gives an otpauth URI with issuer and label, a 160-bit secret, a grouped manual key and an SVG QR code', async () => {
    const enrolment = await begin(alice, '  Work   phone ');
    const uri = new URL(enrolment.uri);
    expect(enrolment.uri.startsWith('otpauth://totp/')).toBe(true);
    // The issuer is the person's organization, without the colon the label uses as its separator.
    expect(decodeURIComponent(uri.pathname)).toBe(`/Acme Labs:${alice.email}`);
    expect(uri.searchParams.get('issuer')).toBe('Acme Labs');
    expect(enrolment).toMatchObject({ issuer: 'Acme Labs', account: alice.email });
    const secret = uri.searchParams.get('secret')!;
    expect(secret).toMatch(/^[A-Z2-7]{32,}$/);
    expect(fromBase32(secret).length).toBeGreaterThanOrEqual(20);
    expect(enrolment.manualKey).toMatch(/^[A-Z2-7]{4}( [A-Z2-7]{1,4})+$/);
    expect(enrolment.manualKey.replaceAll(' ', '')).toBe(secret);
    expect(enrolment.qrSvg).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
    expect(await reload(alice, enrolment.factorId)).toMatchObject({
      kind: 'totp',
      label: 'Work phone',
      active: false,
      lastStep: null,
    });
  });

  it('stores the secret sealed, never in plain text', async () => {
    const enrolment = await begin(alice, 'Phone');
    const secret = new URL(enrolment.uri).searchParams.get('secret')!;
    const factor = await reload(alice, enrolment.factorId);
    expect(factor.sealedSecret).not.toContain(secret);
    expect(box.open(factor.sealedSecret!)).toBe(secret);
    const rows = await sql.db.selectFrom('factors').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(secret);
  });

  it('every enrolment gets its own secret', async () => {
    const a = await begin(alice, 'A');
    const b = await begin(alice, 'B');
    expect(new URL(a.uri).searchParams.get('secret')).not.toBe(new URL(b.uri).searchParams.get('secret'));
  });

  it('is inactive, and refuses sign-in codes, until confirmed with a correct code', async () => {
    const enrolment = await begin(alice, 'Phone');
    const secret = fromBase32(new URL(enrolment.uri).searchParams.get('secret')!);
    // A pending factor is not among the person's active records, so no sign-in can name it.
    expect(await verify(alice, await activeRecords(alice), enrolment.factorId, totp(secret, seconds()))).toMatchObject({
      ok: false,
      reason: 'malformed',
    });
    const wrong = String((Number(totp(secret, seconds())) + 1) % 1_000_000).padStart(6, '0');
    expect(await confirm(alice, enrolment.factorId, wrong)).toMatchObject({ ok: false, reason: 'invalid' });
    expect((await reload(alice, enrolment.factorId)).active).toBe(false);
    const outcome = await confirm(alice, enrolment.factorId, totp(secret, seconds()));
    expect(outcome).toEqual({ ok: true, proven: { method: 'totp', amr: ['otp'], factorId: enrolment.factorId } });
    expect(await reload(alice, enrolment.factorId)).toMatchObject({
      active: true,
      lastStep: Math.floor(seconds() / 30),
    });
  });

  it('the confirmation code cannot be used again to sign in', async () => {
    const enrolment = await begin(alice, 'Phone');
    const secret = fromBase32(new URL(enrolment.uri).searchParams.get('secret')!);
    const code = totp(secret, seconds());
    expect((await confirm(alice, enrolment.factorId, code)).ok).toBe(true);
    expect((await verify(alice, await activeRecords(alice), enrolment.factorId, code)).ok).toBe(false);
  });

  it('shows the QR code again for a pending enrolment, never for an active factor', async () => {
    const enrolment = await begin(alice, 'Phone');
    const again = await confirm(alice, enrolment.factorId, '000000x');
    expect(again).toMatchObject({ ok: false, reason: 'malformed' });
    expect(again.ok ? undefined : again.model).toMatchObject({
      factorId: enrolment.factorId,
      uri: enrolment.uri,
      manualKey: enrolment.manualKey,
      qrSvg: enrolment.qrSvg,
    });
    const { factor } = await anActiveFactor();
    const refused = await confirm(alice, factor.id, '123456');
    expect(refused.ok).toBe(false);
    expect(refused.ok ? undefined : refused.model).toBeUndefined();
  });

  it('confirming an active factor again is refused', async () => {
    const { factor, secret } = await anActiveFactor();
    expect(await confirm(alice, factor.id, totp(secret, seconds()))).toMatchObject({
      ok: false,
      reason: 'setup_expired',
    });
  });

  it("confirming another person's pending enrolment is refused as expired and activates nothing", async () => {
    const enrolment = await begin(alice, 'Phone');
    const secret = fromBase32(new URL(enrolment.uri).searchParams.get('secret')!);
    const mallory = await insertPerson(sql.db);
    const outcome = await confirm(mallory, enrolment.factorId, totp(secret, seconds()));
    expect(outcome).toMatchObject({ ok: false, reason: 'setup_expired' });
    expect(outcome.ok ? undefined : outcome.model).toBeUndefined();
    expect(await reload(alice, enrolment.factorId)).toMatchObject({ active: false, lastStep: null });
    expect(await store.findFactors(mallory.orgId, mallory.userId)).toEqual([]);
    // Alice's own confirmation still works: the refused attempt used up nothing.
    expect((await confirm(alice, enrolment.factorId, totp(secret, seconds()))).ok).toBe(true);
  });

  it('confirming an unknown factor id is refused as expired and activates nothing', async () => {
    const enrolment = await begin(alice, 'Phone');
    const secret = fromBase32(new URL(enrolment.uri).searchParams.get('secret')!);
    for (const factorId of [randomUUID(), '']) {
      expect(await confirm(alice, factorId, totp(secret, seconds()))).toMatchObject({
        ok: false,
        reason: 'setup_expired',
      });
    }
    expect(await activeRecords(alice)).toEqual([]);
    expect((await reload(alice, enrolment.factorId)).active).toBe(false);
  });
});

describe('TOTP verification', () => {
  it.each([-1, 0, 1])('accepts the code of step %i relative to now (RFC 6238 §5.2)', async (offset) => {
    const { factor, secret } = await anActiveFactor();
    const outcome = await verify(alice, [factor], factor.id, totp(secret, seconds() + offset * 30));
    expect(outcome).toEqual({ ok: true, proven: { method: 'totp', amr: ['otp'], factorId: factor.id } });
    expect((await reload(alice, factor.id)).lastStep).toBe(Math.floor(seconds() / 30) + offset);
  });

  it.each([-2, 2])('refuses the code of step %i relative to now', async (offset) => {
    const { factor, secret } = await anActiveFactor();
    expect(await verify(alice, [factor], factor.id, totp(secret, seconds() + offset * 30))).toMatchObject({
      ok: false,
      reason: 'invalid',
    });
  });

  it('tolerates spaces inside a code', async () => {
    const { factor, secret } = await anActiveFactor();
    const code = totp(secret, seconds());
    expect((await verify(alice, [factor], factor.id, ` ${code.slice(0, 3)} ${code.slice(3)} `)).ok).toBe(true);
  });

  it.each(['12345', 'abcdef', '1234567', '', '12345a', '１２３４５６'])(
    'refuses the malformed code %j',
    async (code) => {
      const { factor } = await anActiveFactor();
      expect(await verify(alice, [factor], factor.id, code)).toMatchObject({ ok: false, reason: 'malformed' });
    },
  );

  it('a factor id that is not among the records given is refused as malformed', async () => {
    const { factor, secret } = await anActiveFactor();
    expect(await verify(alice, [], factor.id, totp(secret, seconds()))).toMatchObject({
      ok: false,
      reason: 'malformed',
    });
    expect(await verify(alice, [factor], randomUUID(), totp(secret, seconds()))).toMatchObject({
      ok: false,
      reason: 'malformed',
    });
    expect((await reload(alice, factor.id)).lastStep).toBe(factor.lastStep);
  });

  it('a replayed code from a stale record of the factor is refused as reused', async () => {
    const { factor, secret } = await anActiveFactor();
    const code = totp(secret, seconds());
    expect((await verify(alice, [factor], factor.id, code)).ok).toBe(true);
    expect(await verify(alice, [factor], factor.id, code)).toMatchObject({ ok: false, reason: 'reused' });
  });

  // Regression: before d98c898 otplib's `afterTimeStep` skipped the used step, so a replay from a
  // fresh read of the factor (as the routes do) was refused as 'invalid' ("check the time on your phone").
  it('a code used once is refused as reused the second time (factor read afresh, as the routes do)', async () => {
    const { factor, secret } = await anActiveFactor();
    const code = totp(secret, seconds());
    expect((await verify(alice, [factor], factor.id, code)).ok).toBe(true);
    expect(await verify(alice, await activeRecords(alice), factor.id, code)).toMatchObject({
      ok: false,
      reason: 'reused',
    });
  });

  it('of 20 concurrent submissions of one valid code exactly one succeeds', async () => {
    const { factor, secret } = await anActiveFactor();
    const code = totp(secret, seconds());
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => verify(alice, [factor], factor.id, code)));
    expect(outcomes.filter((o) => o.ok)).toHaveLength(1);
    expect(outcomes.filter((o) => !o.ok && o.reason === 'reused')).toHaveLength(19);
  });

  it('after a code for the next step, the code of the current step is refused', async () => {
    const { factor, secret } = await anActiveFactor();
    expect((await verify(alice, [factor], factor.id, totp(secret, seconds() + 30))).ok).toBe(true);
    expect(await verify(alice, [await reload(alice, factor.id)], factor.id, totp(secret, seconds()))).toMatchObject({
      ok: false,
      reason: 'reused',
    });
    expect(await verify(alice, [factor], factor.id, totp(secret, seconds()))).toMatchObject({
      ok: false,
      reason: 'reused',
    });
  });

  it('after the current step, the previous step is refused; the next step still works', async () => {
    const { factor, secret } = await anActiveFactor();
    expect((await verify(alice, [factor], factor.id, totp(secret, seconds()))).ok).toBe(true);
    expect(
      await verify(alice, [await reload(alice, factor.id)], factor.id, totp(secret, seconds() - 30)),
    ).toMatchObject({ ok: false, reason: 'reused' });
    clock.advance(30_000);
    expect((await verify(alice, [await reload(alice, factor.id)], factor.id, totp(secret, seconds()))).ok).toBe(true);
  });

  it("one person's factor cannot be proven by another person", async () => {
    const { factor, secret } = await anActiveFactor();
    const mallory = await insertPerson(sql.db);
    // Even if a caller wrongly passed Alice's record with Mallory as the person, the store's scope holds.
    expect((await verify(mallory, [factor], factor.id, totp(secret, seconds()))).ok).toBe(false);
    expect((await verify(mallory, await activeRecords(mallory), factor.id, totp(secret, seconds()))).ok).toBe(false);
    expect((await reload(alice, factor.id)).lastStep).toBe(factor.lastStep);
  });

  // Regression: before d98c898 a stored lastStep beyond step+1 (another node's clock ahead, or NTP
  // stepping this clock back) made otplib throw AfterTimeStepRangeExceededError: a 500, not a refusal.
  it('a last accepted step ahead of this clock gives a refusal, not an exception', async () => {
    const { factor, secret } = await anActiveFactor();
    const ahead = Math.floor(seconds() / 30) + 3;
    expect(await store.acceptTotpStep(alice.orgId, alice.userId, factor.id, ahead, clock.now())).toBe(true);
    const outcome = await verify(alice, [await reload(alice, factor.id)], factor.id, totp(secret, seconds()));
    expect(outcome).toMatchObject({ ok: false, reason: 'reused' });
  });
});
