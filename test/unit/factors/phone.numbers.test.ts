import { beforeEach, describe, expect, it } from 'vitest';

import type { Person } from '../../../src/factors/factor.ts';
import { createPhoneFactor } from '../../../src/factors/phone/phone.ts';
import type { FactorStore } from '../../../src/ports/factor-stores.ts';
import type { MessageSender, OutgoingMessage } from '../../../src/ports/message-sender.ts';
import { createCryptoRandom } from '../../../src/ports/random.ts';
import { createKeyedHash } from '../../../src/security/keyed-hash.ts';
import { createSqlAttemptCounter } from '../../../src/storage/sql/attempt-counter.ts';
import { openSqlDatabase, type SqlDatabase } from '../../../src/storage/sql/database.ts';
import { createSqlEphemeralStore } from '../../../src/storage/sql/ephemeral-store.ts';
import { createSqlFactorStore } from '../../../src/storage/sql/factor-store.ts';
import { createTestClock } from '../../helpers/clock.ts';
import { insertPerson } from '../../helpers/people.ts';

/**
 * Issue 8: the phone factor reads a typed number in the country picked, else the organization's
 * default country, else international format only. Codes, guesses and budgets: phone.test.ts.
 */
type Channel = 'sms' | 'voice';

let sql: SqlDatabase;
let store: FactorStore;
let sender: MessageSender & { messages: OutgoingMessage[] };
let phone: Record<Channel, ReturnType<typeof createPhoneFactor>>;
let alice: Person;
/** The organization's default country, as the composition root reads it for the factor. */
let defaultCountry: string | null;

beforeEach(async () => {
  sql = openSqlDatabase({ kind: 'sqlite', filename: ':memory:' });
  await sql.migrate();
  store = createSqlFactorStore(sql.db);
  const messages: OutgoingMessage[] = [];
  sender = { messages, send: async (message) => void messages.push(message) };
  const clock = createTestClock(Date.UTC(2031, 0, 1));
  const build = (channel: Channel) =>
    createPhoneFactor({
      channel,
      store,
      ephemeral: createSqlEphemeralStore(sql.db, clock),
      counter: createSqlAttemptCounter(sql.db, clock),
      sender,
      keyedHash: createKeyedHash('p'.repeat(32)),
      clock,
      random: createCryptoRandom(),
      limits: { perAccount: 100, perNumber: 100, perIp: 100 },
      defaultCountryFor: async () => defaultCountry,
    });
  phone = { sms: build('sms'), voice: build('voice') };
  defaultCountry = null;
  alice = await insertPerson(sql.db);
  return () => sql.close();
});

/** Begins an enrolment as the form posts it: the number, and the country picked unless the form sent none. */
const begin = (kind: Channel, number: string, country?: string) =>
  phone[kind].enrolment.begin(
    alice,
    phone[kind].input.parse({ phone: number, ...(country === undefined ? {} : { country }) }),
    { binding: 'interaction-uid-1', ip: '203.0.113.7' },
  );

describe('phone numbers at enrolment (issue 8)', () => {
  const sentTo = () => sender.messages.at(-1)!.to;

  it("reads a national number in the organization's default country and sends to it in E.164", async () => {
    defaultCountry = 'GB';
    expect(await phone.sms.enrolment.form(alice)).toMatchObject({ country: 'GB' });
    const step = await begin('sms', '020 7946 0018');
    expect(step).toMatchObject({ ok: true, model: { phone: '+442079460018', masked: '+44 •• •••• ••18' } });
    expect(sentTo()).toBe('+442079460018');
  });

  it('reads a national number in the country picked, over the default; international format whatever the country', async () => {
    defaultCountry = 'GB';
    await begin('sms', '(415) 555-0123', 'US');
    expect(sentTo()).toBe('+14155550123');
    await begin('voice', '+44 20 7946 0018', 'US');
    expect(sentTo()).toBe('+442079460018');
  });

  it('with no country (none by default, or none picked) a national number is refused with the words of the hint', async () => {
    const refused = await begin('sms', '020 7946 0018');
    expect(refused).toMatchObject({
      ok: false,
      reason: 'malformed',
      field: 'phone',
      message:
        'That is not a valid number. Enter your number as you would dial it in the country chosen (none is chosen), or in international format starting with\u00a0+.',
    });
    defaultCountry = 'GB';
    expect(await begin('sms', '020 7946 0018', '')).toMatchObject({ ok: false, field: 'phone' });
    expect(sender.messages).toHaveLength(0);
  });

  it('a number not valid in the country picked is refused naming that country', async () => {
    const refused = await begin('sms', '020 7946 0018', 'FR');
    expect(refused).toMatchObject({ ok: false, field: 'phone' });
    expect(refused.ok ? '' : refused.message).toContain('in the country chosen (France)');
  });

  it.each(['XX', 'united kingdom', '<script>', 'GB'.repeat(20)])(
    'an unknown country %j is refused next to the country picker, and nothing is created or sent',
    async (country) => {
      const refused = await begin('sms', '+44 20 7946 0018', country);
      expect(refused).toMatchObject({
        ok: false,
        reason: 'malformed',
        field: 'country',
        message: 'Choose a country from the list.',
      });
      expect(await store.findFactors(alice.orgId, alice.userId)).toEqual([]);
      expect(sender.messages).toHaveLength(0);
    },
  );

  it('shows the number back masked in international format', async () => {
    const step = await begin('sms', '+1 415 555 0123');
    if (!step.ok) throw new Error(step.message);
    const factor = (await store.findFactor(alice.orgId, alice.userId, String(step.model.factorId)))!;
    expect(phone.sms.describe(factor)).toBe('+1 ••• ••• ••23');
  });
});
