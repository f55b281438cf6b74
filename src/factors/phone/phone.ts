import type { AttemptCounter } from '../../ports/attempt-counter.ts';
import type { Clock } from '../../ports/clock.ts';
import type { EphemeralStore } from '../../ports/ephemeral-store.ts';
import type { FactorRecord, FactorStore } from '../../ports/factor-stores.ts';
import { DeliveryError, type MessageSender } from '../../ports/message-sender.ts';
import type { Random } from '../../ports/random.ts';
import type { KeyedHash } from '../../ports/keyed-hash.ts';
import { cleanLabel, fail, newFactor, type Person, type VerifyOutcome } from '../factor.ts';

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

export type SendOutcome = { ok: true } | { ok: false; reason: 'rate_limited' | 'delivery_failed'; message: string };

export interface PhoneFactor {
  /** Creates an inactive SMS or voice factor for a number, then sends it a code. */
  beginEnrolment(person: Person, kind: 'sms' | 'voice', phone: string, label: unknown, binding: string, ip: string): Promise<{ factor: FactorRecord; sent: SendOutcome }>;
  /** Sends a fresh code; any earlier code for the same binding dies. */
  sendCode(person: Person, factor: FactorRecord, binding: string, ip: string): Promise<SendOutcome>;
  /** Checks a code for this binding; activates the factor if it was being enrolled. */
  verify(person: Person, factor: FactorRecord, binding: string, code: string): Promise<VerifyOutcome>;
}

/** The voice text reads the digits one by one, twice, so they survive a poor line. */
export function spokenCode(code: string): string {
  const digits = code.split('').join(', ');
  return `Your Twofold security code is: ${digits}. Again: ${digits}.`;
}

export function createPhoneFactor(deps: {
  store: FactorStore;
  ephemeral: EphemeralStore;
  counter: AttemptCounter;
  sender: MessageSender;
  keyedHash: KeyedHash;
  clock: Clock;
  random: Random;
  limits: SendLimits;
}): PhoneFactor {
  const { store, ephemeral, counter, keyedHash } = deps;
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

  async function sendCode(person: Person, factor: FactorRecord, binding: string, ip: string): Promise<SendOutcome> {
    if ((factor.kind !== 'sms' && factor.kind !== 'voice') || !factor.phone) throw new Error('not a phone factor');
    if (!(await withinBudget(person, factor.phone, ip, factor.active))) {
      return { ok: false, reason: 'rate_limited', message: 'Too many codes were sent. Wait an hour, or use another method.' };
    }
    const code = deps.random.digits(6);
    const challengeId = deps.random.token(16);
    const pending: PendingCode = { challengeId, factorId: factor.id, digest: keyedHash.digest('phone-code', `${challengeId}:${code}`) };
    await ephemeral.put(pendingKey(binding, factor.id), pending, CODE_TTL_SECONDS);
    const text = factor.kind === 'voice' ? spokenCode(code) : `${code} is your Twofold security code. It expires in 5 minutes. Do not share it.`;
    try {
      await deps.sender.send({ channel: factor.kind, to: factor.phone, code, text });
    } catch (error) {
      if (!(error instanceof DeliveryError)) throw error;
      await ephemeral.delete(pendingKey(binding, factor.id));
      return { ok: false, reason: 'delivery_failed', message: 'The code could not be sent just now. Try again in a moment, or use another method.' };
    }
    return { ok: true };
  }

  return {
    async beginEnrolment(person, kind, phone, label, binding, ip) {
      // A new enrolment replaces an unfinished one: unconfirmed numbers never pile up.
      await store.deleteInactiveFactors(person.orgId, person.userId, ['sms', 'voice']);
      const factor = newFactor(deps, person, kind, cleanLabel(label, kind === 'sms' ? 'Text messages' : 'Voice calls'), { phone });
      await store.insertFactor(factor);
      return { factor, sent: await sendCode(person, factor, binding, ip) };
    },
    sendCode,
    async verify(person, factor, binding, code) {
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
      if (!keyedHash.matches('phone-code', `${pending.challengeId}:${token}`, pending.digest)) return fail('invalid', 'That code is not right.');
      // Taking the pending code is the single use: of two right answers at once, one wins.
      const taken = await ephemeral.take<PendingCode>(key);
      if (!taken || taken.challengeId !== pending.challengeId) return fail('reused', 'That code was already used. Send a new code.');
      const now = deps.clock.now();
      if (factor.active) await store.touchFactor(person.orgId, person.userId, factor.id, now);
      else await store.activateFactor(person.orgId, person.userId, factor.id, now);
      return { ok: true, proven: { method: factor.kind, amr: [factor.kind === 'sms' ? 'sms' : 'tel'], factorId: factor.id } };
    },
  };
}
