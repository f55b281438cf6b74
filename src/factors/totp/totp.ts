import { generateURI, verify } from 'otplib';
import { z } from 'zod';

import type { Clock } from '../../ports/clock.ts';
import type { FactorRecord, FactorStore } from '../../ports/factor-stores.ts';
import type { Random } from '../../ports/random.ts';
import type { SecretBox } from '../../ports/secret-box.ts';
import { cleanLabel, fail, newFactor, recordNamed, type Factor, type Person, type VerifyOutcome } from '../factor.ts';

/** RFC 6238 with what every authenticator app supports: SHA-1, 6 digits, 30-second steps. */
const PERIOD = 30;
const CODE = /^\d{6}$/;
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding, as the Key URI format expects. */
export function toBase32(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/**
 * The Key URI format's issuer is also the label's prefix, separated by a colon, so neither may hold
 * one ("Neither issuer nor account name may themselves contain a colon"): colons become spaces.
 */
const issuerText = (name: string) => name.replace(/:/g, ' ').replace(/\s+/g, ' ').trim() || 'Twofold';

const input = z.object({
  factorId: z.string().max(64).default(''),
  code: z.string().max(64, 'That code is too long.').default(''),
  label: z.string().max(200).default(''),
});

/** An authenticator app (RFC 6238 TOTP), enrolled by QR code. */
export function createTotpFactor(deps: {
  store: FactorStore;
  box: SecretBox;
  clock: Clock;
  random: Random;
  /** The name the authenticator app lists the account under: the person's organization. */
  issuerFor(person: Person): Promise<string>;
}) {
  const { store, box, clock } = deps;

  /** The enrolment page's model: the QR code and the same secret grouped in fours for typing. */
  async function enrolmentModel(person: Person, factorId: string, secret: string) {
    const issuer = issuerText(await deps.issuerFor(person));
    const uri = generateURI({
      issuer,
      label: person.email,
      secret,
      algorithm: 'sha1',
      digits: 6,
      period: PERIOD,
    });
    // qrcode is imported on the first enrolment, not at start: a node uses it only there.
    const { default: QRCode } = await import('qrcode');
    const qrSvg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
    return {
      title: 'Set up your authenticator app',
      issuer,
      account: person.email,
      factorId,
      manualKey: secret.match(/.{1,4}/g)!.join(' '),
      uri,
      qrSvg,
    };
  }

  /** Current step ±1 (RFC 6238 §5.2), never a step at or before the last accepted one. */
  async function check(person: Person, factor: FactorRecord, code: string): Promise<VerifyOutcome> {
    const token = code.replace(/\s+/g, '');
    if (!CODE.test(token)) return fail('malformed', 'Enter the 6-digit code from your authenticator app.');
    if (!factor.sealedSecret) return fail('invalid', 'That code is not right.');
    const epoch = Math.floor(clock.now() / 1000);
    const result = await verify({ secret: box.open(factor.sealedSecret), token, epoch, epochTolerance: PERIOD });
    if (!result.valid)
      return fail('invalid', 'That code is not right. Check the time on your phone and try the newest code.');
    // The conditional update (step later than the last accepted) is the single-use guarantee,
    // also for simultaneous submissions; a replayed or older code is reported as used.
    const step = Math.floor(epoch / PERIOD) + result.delta;
    const accepted = await store.acceptTotpStep(person.orgId, person.userId, factor.id, step, clock.now());
    if (!accepted) return fail('reused', 'That code was already used. Wait for the next code.');
    return { ok: true, proven: { method: 'totp', amr: ['otp'], factorId: factor.id } };
  }

  return {
    kind: 'totp',
    name: 'Authenticator app',
    phishingResistant: false,
    input,
    enrolment: {
      async begin(person, fields) {
        // A new enrolment replaces an unfinished one (its seed was never confirmed).
        await store.deleteInactiveFactors(person.orgId, person.userId, ['totp']);
        const secret = toBase32(deps.random.bytes(20)); // 160 bits (RFC 4226 §4 R6)
        const factor = newFactor(deps, person, 'totp', cleanLabel(fields.label, 'Authenticator app'), {
          sealedSecret: box.seal(secret),
        });
        await store.insertFactor(factor);
        return { ok: true, model: await enrolmentModel(person, factor.id, secret) };
      },
      async confirm(person, fields) {
        const factor = await store.findFactor(person.orgId, person.userId, fields.factorId);
        if (!factor || factor.active || factor.kind !== 'totp' || !factor.sealedSecret)
          return fail('setup_expired', 'This setup has expired.');
        const outcome = await check(person, factor, fields.code);
        if (!outcome.ok)
          return { ...outcome, model: await enrolmentModel(person, factor.id, box.open(factor.sealedSecret)) };
        await store.activateFactor(person.orgId, person.userId, factor.id, clock.now());
        return outcome;
      },
    },
    describe: () => null,
    async verify(person, records, fields) {
      const factor = recordNamed(records, fields.factorId);
      if (!factor) return fail('malformed', 'Choose a method to continue.');
      return check(person, factor, fields.code);
    },
  } satisfies Factor<z.output<typeof input>>;
}
