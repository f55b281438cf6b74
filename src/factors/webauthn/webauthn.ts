import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';

import type { Clock } from '../../ports/clock.ts';
import type { EphemeralStore } from '../../ports/ephemeral-store.ts';
import type { FactorRecord, FactorStore } from '../../ports/factor-stores.ts';
import type { Random } from '../../ports/random.ts';
import { DuplicateError } from '../../ports/stores.ts';
import { cleanLabel, fail, newFactor, type Person, type VerifyOutcome } from '../factor.ts';

/** Challenges live two minutes and are taken (used once) by the verification. */
const CHALLENGE_TTL_SECONDS = 120;

export interface WebauthnFactor {
  registrationOptions(person: Person, binding: string, options: { passkey: boolean }): Promise<PublicKeyCredentialCreationOptionsJSON>;
  /** Registers the key; `amr` is what using it proved (RFC 8176: hwk, or swk for a synced passkey). */
  completeRegistration(person: Person, binding: string, response: unknown, label: unknown): Promise<{ ok: true; factor: FactorRecord; amr: string[] } | { ok: false; message: string }>;
  /** Options for a person's own keys (second factor), or for any discoverable passkey (person null). */
  authenticationOptions(person: Person | null, binding: string): Promise<PublicKeyCredentialRequestOptionsJSON>;
  /**
   * Verifies an assertion. As a second factor the key must be the person's; for passkey sign-in
   * (person null) it must be a passkey and the authenticator must have verified the user.
   */
  verifyAuthentication(person: Person | null, binding: string, response: unknown): Promise<VerifyOutcome & { factor?: FactorRecord }>;
}

interface PendingChallenge {
  challenge: string;
  passkey: boolean;
  userId: string | null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** The shape checks @simplewebauthn expects to have been done by its caller. */
function looksLikeCredential(value: unknown): boolean {
  return isObject(value) && typeof value.id === 'string' && typeof value.rawId === 'string' && isObject(value.response) && value.type === 'public-key';
}

export function createWebauthnFactor(deps: { store: FactorStore; ephemeral: EphemeralStore; clock: Clock; random: Random; issuer: string }): WebauthnFactor {
  const origin = new URL(deps.issuer).origin;
  // W3C WebAuthn §5.1.2: the RP ID is the issuer's host name, and the origin must match it.
  const rpID = new URL(deps.issuer).hostname;
  const { store, ephemeral, clock } = deps;
  const regKey = (binding: string) => `webauthn-reg:${binding}`;
  const authKey = (binding: string) => `webauthn-auth:${binding}`;

  async function keysOf(person: Person) {
    return (await store.findFactors(person.orgId, person.userId)).filter((f) => f.kind === 'webauthn' && f.active && f.credentialId);
  }

  return {
    async registrationOptions(person, binding, { passkey }) {
      const handle = await store.findOrCreateWebauthnHandle(person.orgId, person.userId, deps.random.token(32));
      const options = await generateRegistrationOptions({
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
      await ephemeral.put(regKey(binding), { challenge: options.challenge, passkey, userId: person.userId } satisfies PendingChallenge, CHALLENGE_TTL_SECONDS);
      return options;
    },

    async completeRegistration(person, binding, response, label) {
      const pending = await ephemeral.take<PendingChallenge>(regKey(binding));
      if (!pending || pending.userId !== person.userId) return { ok: false, message: 'The request to add a key expired. Try again.' };
      if (!looksLikeCredential(response)) return { ok: false, message: 'The browser sent an unreadable answer. Try again.' };
      let verified;
      try {
        verified = await verifyRegistrationResponse({
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
      const factor = newFactor(deps, person, 'webauthn', cleanLabel(label, pending.passkey ? 'Passkey' : 'Security key'), {
        active: true,
        credentialId: credential.id,
        publicKey: Buffer.from(credential.publicKey).toString('base64url'),
        counter: credential.counter,
        transports: (credential.transports ?? []) as string[],
        passkey: pending.passkey && verified.registrationInfo.userVerified,
        lastUsedAt: clock.now(),
      });
      try {
        await store.insertFactor(factor);
      } catch (error) {
        if (error instanceof DuplicateError) return { ok: false, message: 'This key is already registered.' };
        throw error;
      }
      return { ok: true, factor, amr: [verified.registrationInfo.credentialDeviceType === 'multiDevice' ? 'swk' : 'hwk'] };
    },

    async authenticationOptions(person, binding) {
      const keys = person ? await keysOf(person) : [];
      const options = await generateAuthenticationOptions({
        rpID,
        allowCredentials: keys.map((k) => ({ id: k.credentialId!, transports: k.transports })),
        userVerification: person ? 'discouraged' : 'required',
        timeout: CHALLENGE_TTL_SECONDS * 1000,
      });
      await ephemeral.put(authKey(binding), { challenge: options.challenge, passkey: person === null, userId: person?.userId ?? null } satisfies PendingChallenge, CHALLENGE_TTL_SECONDS);
      return options;
    },

    async verifyAuthentication(person, binding, response) {
      const pending = await ephemeral.take<PendingChallenge>(authKey(binding));
      if (!pending || pending.userId !== (person?.userId ?? null)) return fail('expired', 'The sign-in request expired. Try again.');
      if (!looksLikeCredential(response)) return fail('malformed', 'The browser sent an unreadable answer. Try again.');
      const factor = await store.findFactorByCredentialId((response as { id: string }).id);
      if (!factor || (person && (factor.userId !== person.userId || factor.orgId !== person.orgId))) {
        return fail('invalid', 'This key is not registered to your account.');
      }
      if (!person && !factor.passkey) return fail('invalid', 'This key is a security key, not a passkey. Sign in with your password first.');
      let result;
      try {
        result = await verifyAuthenticationResponse({
          response: response as AuthenticationResponseJSON,
          expectedChallenge: pending.challenge,
          expectedOrigin: origin,
          expectedRPID: rpID,
          credential: { id: factor.credentialId!, publicKey: Buffer.from(factor.publicKey!, 'base64url'), counter: factor.counter ?? 0, transports: factor.transports },
          requireUserVerification: !person,
        });
      } catch {
        return fail('invalid', 'This key could not be verified. Try again.');
      }
      if (!result.verified) return fail('invalid', 'This key could not be verified. Try again.');
      const info = result.authenticationInfo;
      const advanced = await store.advanceCounter(factor.orgId, factor.userId, factor.id, info.newCounter, clock.now());
      if (!advanced) return fail('invalid', 'This key reported an old signature counter; it may have been copied. Use another method and tell your administrator.');
      // RFC 8176: a synced (multi-device) passkey is a software-secured key, a device-bound one hardware.
      const keyAmr = info.credentialDeviceType === 'multiDevice' ? 'swk' : 'hwk';
      const amr = person ? [keyAmr] : [keyAmr, 'user'];
      return { ok: true, proven: { method: person ? 'webauthn' : 'passkey', amr, factorId: factor.id }, factor };
    },
  };
}
