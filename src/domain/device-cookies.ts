import type { Clock } from '../ports/clock.ts';
import type { KeyedHash } from '../ports/keyed-hash.ts';
import type { Random } from '../ports/random.ts';
import { normalizeEmail } from '../ports/stores.ts';

/**
 * Device cookies (OWASP Authentication Cheat Sheet, "Slow down online guessing attacks with
 * device cookies"): a browser that has signed in to an account holds a MAC'd cookie naming that
 * account, and its password attempts count against a budget of its own, so strangers who exhaust
 * the account's budget cannot lock the owner out. The cookie holds a random device id, the time
 * it was issued and an HMAC over both and the account's email; the email itself is not in it.
 */
export interface DeviceCookies {
  /** The cookie's name: `__Host-` prefixed (RFC 6265bis §4.1.3.2) when cookies are Secure. */
  readonly name: string;
  readonly secure: boolean;
  /** A fresh cookie value naming the account, and how long the browser keeps it. */
  issue(email: string): { value: string; maxAgeMs: number };
  /** The device id when `value` is a valid, unexpired device cookie for `email`; otherwise undefined. */
  deviceFor(value: string | undefined, email: string): string | undefined;
}

const PURPOSE = 'device-cookie';
/** Long-lived: a browser stays recognised for as long as a person plausibly goes between sign-ins. */
const MAX_AGE_MS = 365 * 86_400_000;
const FORMAT = /^([A-Za-z0-9_-]{16,64})\.(\d{1,12})\.([0-9a-f]{64})$/;

export function createDeviceCookies(deps: {
  keyedHash: KeyedHash;
  clock: Clock;
  random: Random;
  secure: boolean;
}): DeviceCookies {
  const { keyedHash, clock, random, secure } = deps;
  const signed = (device: string, issuedAt: string, email: string) => `${device}.${issuedAt}.${normalizeEmail(email)}`;
  return {
    name: secure ? '__Host-twofold-device' : 'twofold-device',
    secure,
    issue(email) {
      const device = random.token(16);
      const issuedAt = String(Math.floor(clock.now() / 1000));
      const mac = keyedHash.digest(PURPOSE, signed(device, issuedAt, email));
      return { value: `${device}.${issuedAt}.${mac}`, maxAgeMs: MAX_AGE_MS };
    },
    deviceFor(value, email) {
      const match = value === undefined ? null : FORMAT.exec(value);
      if (!match) return undefined;
      const [, device, issuedAt, mac] = match as unknown as [string, string, string, string];
      if (clock.now() - Number(issuedAt) * 1000 > MAX_AGE_MS) return undefined;
      return keyedHash.matches(PURPOSE, signed(device, issuedAt, email), mac) ? device : undefined;
    },
  };
}
