import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';

import { z } from 'zod';

import type { Clock } from '../../ports/clock.ts';
import type { EphemeralStore } from '../../ports/ephemeral-store.ts';
import type { FactorRecord, FactorStore } from '../../ports/factor-stores.ts';
import type { Random } from '../../ports/random.ts';
import { DuplicateError } from '../../ports/stores.ts';
import { cleanLabel, fail, newFactor, type Factor, type Person, type VerifyOutcome } from '../factor.ts';

/** Challenges live two minutes and are taken (used once) by the verification. */
const CHALLENGE_TTL_SECONDS = 120;

interface PendingChallenge {
  challenge: string;
  passkey: boolean;
  userId: string | null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/**
 * @simplewebauthn/server and the ASN.1 and certificate libraries under it, imported on the first
 * ceremony: most sign-ins never use a security key, and a node carries them only once one does.
 */
const simpleWebauthn = () => import('@simplewebauthn/server');

/** The shape checks @simplewebauthn expects to have been done by its caller. */
function looksLikeCredential(value: unknown): boolean {
  return (
    isObject(value) &&
    typeof value.id === 'string' &&
    typeof value.rawId === 'string' &&
    isObject(value.response) &&
    value.type === 'public-key'
  );
}

const input = z.object({
  credential: z.unknown().optional(),
  label: z.string().max(200).optional(),
  passkey: z.boolean().optional(),
});

type Registration = { ok: true; factor: FactorRecord; amr: string[] } | { ok: false; message: string };

/**
 * Security keys and passkeys (W3C WebAuthn Level 3 through @simplewebauthn/server): a second
 * factor, and a passwordless sign-in for a user-verified passkey. The browser side is
 * public/webauthn.js, which posts JSON.
 */
export function createWebauthnFactor(deps: {
  store: FactorStore;
  ephemeral: EphemeralStore;
  clock: Clock;
  random: Random;
  issuer: string;
}) {
  const origin = new URL(deps.issuer).origin;
  // W3C WebAuthn §5.1.2: the RP ID is the issuer's host name, and the origin must match it.
  const rpID = new URL(deps.issuer).hostname;
  const { store, ephemeral, clock } = deps;
  const regKey = (binding: string) => `webauthn-reg:${binding}`;
  const authKey = (binding: string) => `webauthn-auth:${binding}`;

  async function keysOf(person: Person) {
    return (await store.findFactors(person.orgId, person.userId)).filter(
      (f) => f.kind === 'webauthn' && f.active && f.credentialId,
    );
  }

  const ops = {
    async registrationOptions(person: Person, binding: string, { passkey }: { passkey: boolean }) {
      const handle = await store.findOrCreateWebauthnHandle(person.orgId, person.userId, deps.random.token(32));
      const options = await (
        await simpleWebauthn()
      ).generateRegistrationOptions({
        rpName: 'Twofold',
        rpID,
        userName: person.email,
        userID: Buffer.from(handle, 'base64url'),
        attestationType: 'none',
        // The same key cannot be registered twice (W3C WebAuthn §5.4 excludeCredentials).
        excludeCredentials: (await keysOf(person)).map((k) => ({ id: k.credentialId!, transports: k.transports })),
        authenticatorSelection: passkey
          ? { residentKey: 'required', userVerification: 'required' }
          : { residentKey: 'discouraged', userVerification: 'discouraged' },
        timeout: CHALLENGE_TTL_SECONDS * 1000,
      });
      await ephemeral.put(
        regKey(binding),
        { challenge: options.challenge, passkey, userId: person.userId } satisfies PendingChallenge,
        CHALLENGE_TTL_SECONDS,
      );
      return options;
    },

    async completeRegistration(
      person: Person,
      binding: string,
      response: unknown,
      label: unknown,
    ): Promise<Registration> {
      const pending = await ephemeral.take<PendingChallenge>(regKey(binding));
      if (!pending || pending.userId !== person.userId)
        return { ok: false, message: 'The request to add a key expired. Try again.' };
      if (!looksLikeCredential(response))
        return { ok: false, message: 'The browser sent an unreadable answer. Try again.' };
      let verified;
      try {
        verified = await (
          await simpleWebauthn()
        ).verifyRegistrationResponse({
          response: response as RegistrationResponseJSON,
          expectedChallenge: pending.challenge,
          expectedOrigin: origin,
          expectedRPID: rpID,
          requireUserVerification: pending.passkey,
        });
      } catch {
        return { ok: false, message: 'This key could not be verified. Try again.' };
      }
      if (!verified.verified) return { ok: false, message: 'This key could not be verified. Try again.' };
      const { credential } = verified.registrationInfo;
      const factor = newFactor(
        deps,
        person,
        'webauthn',
        cleanLabel(label, pending.passkey ? 'Passkey' : 'Security key'),
        {
          active: true,
          credentialId: credential.id,
          publicKey: Buffer.from(credential.publicKey).toString('base64url'),
          counter: credential.counter,
          transports: (credential.transports ?? []) as string[],
          passkey: pending.passkey && verified.registrationInfo.userVerified,
        },
      );
      try {
        await store.insertFactor(factor);
      } catch (error) {
        if (error instanceof DuplicateError) return { ok: false, message: 'This key is already registered.' };
        throw error;
      }
      return {
        ok: true,
        factor,
        amr: [verified.registrationInfo.credentialDeviceType === 'multiDevice' ? 'swk' : 'hwk'],
      };
    },

    async authenticationOptions(person: Person | null, binding: string) {
      const keys = person ? await keysOf(person) : [];
      const options = await (
        await simpleWebauthn()
      ).generateAuthenticationOptions({
        rpID,
        allowCredentials: keys.map((k) => ({ id: k.credentialId!, transports: k.transports })),
        userVerification: person ? 'discouraged' : 'required',
        timeout: CHALLENGE_TTL_SECONDS * 1000,
      });
      await ephemeral.put(
        authKey(binding),
        {
          challenge: options.challenge,
          passkey: person === null,
          userId: person?.userId ?? null,
        } satisfies PendingChallenge,
        CHALLENGE_TTL_SECONDS,
      );
      return options;
    },

    async verifyAuthentication(
      person: Person | null,
      binding: string,
      response: unknown,
    ): Promise<VerifyOutcome & { factor?: FactorRecord }> {
      const pending = await ephemeral.take<PendingChallenge>(authKey(binding));
      if (!pending || pending.userId !== (person?.userId ?? null))
        return fail('expired', 'The sign-in request expired. Try again.');
      if (!looksLikeCredential(response)) return fail('malformed', 'The browser sent an unreadable answer. Try again.');
      const factor = await store.findFactorByCredentialId((response as { id: string }).id);
      if (!factor || (person && (factor.userId !== person.userId || factor.orgId !== person.orgId))) {
        // A passkey sign-in knows no account yet: "your account" would be a guess.
        return fail(
          'invalid',
          person
            ? 'This key is not registered to your account.'
            : 'This passkey is not registered here. Sign in with your email and password.',
        );
      }
      if (!person && !factor.passkey)
        return fail('invalid', 'This key is a security key, not a passkey. Sign in with your password first.');
      let result;
      try {
        result = await (
          await simpleWebauthn()
        ).verifyAuthenticationResponse({
          response: response as AuthenticationResponseJSON,
          expectedChallenge: pending.challenge,
          expectedOrigin: origin,
          expectedRPID: rpID,
          credential: {
            id: factor.credentialId!,
            publicKey: Buffer.from(factor.publicKey!, 'base64url'),
            counter: factor.counter ?? 0,
            transports: factor.transports,
          },
          requireUserVerification: !person,
        });
      } catch {
        return fail('invalid', 'This key could not be verified. Try again.');
      }
      if (!result.verified) return fail('invalid', 'This key could not be verified. Try again.');
      const info = result.authenticationInfo;
      const advanced = await store.advanceCounter(factor.orgId, factor.userId, factor.id, info.newCounter, clock.now());
      if (!advanced)
        return fail(
          'invalid',
          'This key reported an old signature counter; it may have been copied. Use another method and tell your administrator.',
        );
      // RFC 8176: a synced (multi-device) passkey is a software-secured key, a device-bound one hardware.
      const keyAmr = info.credentialDeviceType === 'multiDevice' ? 'swk' : 'hwk';
      const amr = person ? [keyAmr] : [keyAmr, 'user'];
      return { ok: true, proven: { method: person ? 'webauthn' : 'passkey', amr, factorId: factor.id }, factor };
    },
  };

  return {
    kind: 'webauthn',
    name: 'Security key or passkey',
    // The browser binds each signature to the origin (WebAuthn §13.4.9): a relayed challenge fails.
    phishingResistant: true,
    input,
    enrolment: {
      async begin(person, fields, context) {
        return {
          ok: true,
          model: { ...(await ops.registrationOptions(person, context.binding, { passkey: fields.passkey === true })) },
        };
      },
      async confirm(person, fields, context) {
        const result = await ops.completeRegistration(person, context.binding, fields.credential, fields.label);
        if (!result.ok) return fail('invalid', result.message);
        return { ok: true, proven: { method: 'webauthn', amr: result.amr, factorId: result.factor.id } };
      },
    },
    describe: (record) => (record.passkey ? 'passkey' : null),
    async challenge(person, _records, _fields, context) {
      return { ok: true, model: { ...(await ops.authenticationOptions(person, context.binding)) } };
    },
    async verify(person, _records, fields, context) {
      const { factor: _factor, ...outcome } = await ops.verifyAuthentication(
        person,
        context.binding,
        fields.credential,
      );
      return outcome as VerifyOutcome;
    },
    passwordless: {
      async challenge(context) {
        return { ok: true, model: { ...(await ops.authenticationOptions(null, context.binding)) } };
      },
      async verify(fields, context) {
        const outcome = await ops.verifyAuthentication(null, context.binding, fields.credential);
        if (!outcome.ok) return outcome;
        if (!outcome.factor) return fail('invalid', 'This passkey could not be used.');
        return {
          ok: true,
          proven: outcome.proven,
          owner: { orgId: outcome.factor.orgId, userId: outcome.factor.userId },
        };
      },
    },
  } satisfies Factor<z.output<typeof input>>;
}
