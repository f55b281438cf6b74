import { z } from 'zod';

import type { AttemptCounter } from '../../ports/attempt-counter.ts';
import type { Clock } from '../../ports/clock.ts';
import type { EphemeralStore } from '../../ports/ephemeral-store.ts';
import type { FactorRecord, FactorStore } from '../../ports/factor-stores.ts';
import { DeliveryError, type MessageSender } from '../../ports/message-sender.ts';
import type { Random } from '../../ports/random.ts';
import type { KeyedHash } from '../../ports/keyed-hash.ts';
import {
  COUNTRY_OPTIONS,
  PHONE_HINT,
  countrySchema,
  maskPhoneNumber,
  parsePhoneNumber,
} from '../../domain/phone-numbers.ts';
import {
  cleanLabel,
  fail,
  newFactor,
  recordNamed,
  type Factor,
  type FactorContext,
  type Person,
  type Refusal,
  type VerifyOutcome,
} from '../factor.ts';

/** A code is valid five minutes, takes at most five guesses, and is bound to one sign-in or enrolment. */
const CODE_TTL_SECONDS = 300;
const MAX_GUESSES = 5;
const CODE = /^\d{6}$/;

/** Send budgets per hour, so that nobody can pump SMS or calls through us (toll fraud). */
export interface SendLimits {
  perAccount: number;
  perNumber: number;
  perIp: number;
}

interface PendingCode {
  challengeId: string;
  factorId: string;
  digest: string;
}

/** The voice text reads the digits one by one, twice, so they survive a poor line. */
export function spokenCode(code: string): string {
  const digits = code.split('').join(', ');
  return `Your Twofold security code is: ${digits}. Again: ${digits}.`;
}

const input = z.object({
  factorId: z.string().max(64).default(''),
  code: z.string().max(64, 'That code is too long.').default(''),
  label: z.string().max(200).default(''),
  // Longer than any typed number: the number's own check refuses it with the field's words.
  phone: z.string().max(200).default(''),
  /** The country picked for a national number; absent: the organization's default; empty: none. */
  country: z.string().max(64).optional(),
});

const CHANNELS = {
  sms: { name: 'Text message (SMS)', label: 'Text messages', amr: 'sms' },
  voice: { name: 'Voice call', label: 'Voice calls', amr: 'tel' },
} as const;

/**
 * Codes by text message or by voice call to a verified number: one module, one factor per
 * channel (kinds "sms" and "voice"; RFC 8176 amr "sms" and "tel").
 */
export function createPhoneFactor(deps: {
  channel: 'sms' | 'voice';
  store: FactorStore;
  ephemeral: EphemeralStore;
  counter: AttemptCounter;
  sender: MessageSender;
  keyedHash: KeyedHash;
  clock: Clock;
  random: Random;
  limits: SendLimits;
  /** The organization's default country for national numbers (ISO 3166-1 alpha-2), if it has one. */
  defaultCountryFor(person: Person): Promise<string | null>;
}) {
  const { channel, store, ephemeral, counter, keyedHash } = deps;
  const pendingKey = (binding: string, factorId: string) => `phone-code:${binding}:${factorId}`;
  const HOUR = 3_600_000;

  /**
   * Counts a send against the hourly budgets of the account, the number and the address.
   * A refused request is not counted, so nobody can keep a number blocked by asking for codes.
   */
  async function withinBudget(person: Person, phone: string, ip: string, confirmed: boolean): Promise<boolean> {
    const budgets = [
      [`send:account:${person.userId}`, deps.limits.perAccount],
      // Codes to a number nobody has confirmed yet have a budget of their own: someone enrolling
      // a stranger's number must not use up that person's sign-in codes.
      [`send:${confirmed ? 'number' : 'unconfirmed-number'}:${phone}`, deps.limits.perNumber],
      [`send:ip:${ip}`, deps.limits.perIp],
    ] as const;
    const used = await Promise.all(budgets.map(([key]) => counter.peek(key)));
    if (budgets.some(([, limit], i) => (used[i]?.count ?? 0) >= limit)) return false;
    // Counting is atomic: of concurrent requests at the edge of a budget, the extra ones are refused.
    const counts = await Promise.all(budgets.map(([key]) => counter.increment(key, HOUR)));
    return budgets.every(([, limit], i) => counts[i]!.count <= limit);
  }

  /** Sends a fresh code; any earlier code for the same binding dies. */
  async function sendCode(person: Person, factor: FactorRecord, context: FactorContext): Promise<Refusal | null> {
    if (!factor.phone) return fail('malformed', 'Choose a method to continue.');
    if (!(await withinBudget(person, factor.phone, context.ip, factor.active))) {
      return fail('rate_limited', 'Too many codes were sent. Wait an hour, or use another method.');
    }
    const code = deps.random.digits(6);
    const challengeId = deps.random.token(16);
    const pending: PendingCode = {
      challengeId,
      factorId: factor.id,
      digest: keyedHash.digest('phone-code', `${challengeId}:${code}`),
    };
    await ephemeral.put(pendingKey(context.binding, factor.id), pending, CODE_TTL_SECONDS);
    const text =
      channel === 'voice'
        ? spokenCode(code)
        : `${code} is your Twofold security code. It expires in 5 minutes. Do not share it.`;
    try {
      await deps.sender.send({ channel, to: factor.phone, code, text });
    } catch (error) {
      if (!(error instanceof DeliveryError)) throw error;
      await ephemeral.delete(pendingKey(context.binding, factor.id));
      return fail('unavailable', 'The code could not be sent just now. Try again in a moment, or use another method.');
    }
    return null;
  }

  /** Checks a code for this binding; activates the factor if it was being enrolled. */
  async function check(person: Person, factor: FactorRecord, binding: string, code: string): Promise<VerifyOutcome> {
    const token = code.replace(/\s+/g, '');
    if (!CODE.test(token)) return fail('malformed', 'Enter the 6-digit code we sent you.');
    const key = pendingKey(binding, factor.id);
    const pending = await ephemeral.get<PendingCode>(key);
    if (!pending) return fail('expired', 'That code has expired or was already used. Send a new code.');
    // Count the guess before comparing: concurrent guesses cannot exceed the budget.
    const { count } = await counter.increment(`guess:${pending.challengeId}`, CODE_TTL_SECONDS * 1000);
    if (count > MAX_GUESSES) {
      await ephemeral.delete(key);
      return fail('too_many_attempts', 'Too many wrong codes. Send a new code.');
    }
    if (!keyedHash.matches('phone-code', `${pending.challengeId}:${token}`, pending.digest))
      return fail('invalid', 'That code is not right.');
    // Taking the pending code is the single use: of two right answers at once, one wins.
    const taken = await ephemeral.take<PendingCode>(key);
    if (!taken || taken.challengeId !== pending.challengeId)
      return fail('reused', 'That code was already used. Send a new code.');
    const now = deps.clock.now();
    if (factor.active) await store.touchFactor(person.orgId, person.userId, factor.id, now);
    else await store.activateFactor(person.orgId, person.userId, factor.id, now);
    return { ok: true, proven: { method: channel, amr: [CHANNELS[channel].amr], factorId: factor.id } };
  }

  /** The confirmation page; the number goes back with "Send a new code", which begins the enrolment again. */
  const confirmModel = (factor: FactorRecord) => ({
    title: 'Confirm your phone number',
    factorId: factor.id,
    masked: maskPhoneNumber(factor.phone!),
    phone: factor.phone!,
  });

  return {
    kind: channel,
    name: CHANNELS[channel].name,
    phishingResistant: false,
    input,
    enrolment: {
      async form(person) {
        return { countries: COUNTRY_OPTIONS, country: (await deps.defaultCountryFor(person)) ?? '', hint: PHONE_HINT };
      },
      async begin(person, fields, context) {
        const picked = fields.country ?? (await deps.defaultCountryFor(person)) ?? '';
        const country = picked === '' ? null : countrySchema.safeParse(picked);
        if (country && !country.success)
          return fail('malformed', country.error.issues[0]!.message, { field: 'country' });
        const phone = parsePhoneNumber(fields.phone, country?.data ?? null);
        if (!phone.ok) return fail('malformed', phone.message, { field: 'phone' });
        // A new enrolment replaces an unfinished one: unconfirmed numbers never pile up.
        await store.deleteInactiveFactors(person.orgId, person.userId, Object.keys(CHANNELS));
        const factor = newFactor(deps, person, channel, cleanLabel(fields.label, CHANNELS[channel].label), {
          phone: phone.e164,
        });
        await store.insertFactor(factor);
        const problem = await sendCode(person, factor, context);
        return { ok: true, model: confirmModel(factor), ...(problem ? { warning: problem } : {}) };
      },
      async confirm(person, fields, context) {
        const factor = await store.findFactor(person.orgId, person.userId, fields.factorId);
        if (!factor || factor.active || factor.kind !== channel || !factor.phone)
          return fail('setup_expired', 'This setup has expired.');
        const outcome = await check(person, factor, context.binding, fields.code);
        return outcome.ok ? outcome : { ...outcome, model: confirmModel(factor) };
      },
    },
    describe: (record) => (record.phone ? maskPhoneNumber(record.phone) : null),
    async challenge(person, records, fields, context) {
      const factor = recordNamed(records, fields.factorId);
      if (!factor) return fail('malformed', 'That method is not available. Choose another one.');
      return (await sendCode(person, factor, context)) ?? { ok: true, model: {} };
    },
    async verify(person, records, fields, context) {
      const factor = recordNamed(records, fields.factorId);
      if (!factor) return fail('malformed', 'Choose a method to continue.');
      return check(person, factor, context.binding, fields.code);
    },
  } satisfies Factor<z.output<typeof input>>;
}
