import { describe, expect, it } from 'vitest';

import { createDeviceCookies } from '../../../src/domain/device-cookies.ts';
import { createCryptoRandom } from '../../../src/ports/random.ts';
import { createKeyedHash } from '../../../src/security/keyed-hash.ts';
import { createTestClock } from '../../helpers/clock.ts';

const setup = (secure = false, pepper = 'pepper-0123456789abcdef0123456789') => {
  const clock = createTestClock();
  const cookies = createDeviceCookies({
    keyedHash: createKeyedHash(pepper),
    clock,
    random: createCryptoRandom(),
    secure,
  });
  return { clock, cookies };
};

describe('device cookies', () => {
  it('names the device for the account it was issued to, whatever the email case', () => {
    const { cookies } = setup();
    const { value } = cookies.issue('Alice@Example.com');
    expect(value).not.toContain('alice');
    const device = cookies.deviceFor(value, 'alice@example.com');
    expect(device).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(value.startsWith(`${device}.`)).toBe(true);
  });

  it('a cookie for another account, a forged MAC or another deployment key gives nothing', () => {
    const { cookies } = setup();
    const { value } = cookies.issue('bob@example.com');
    expect(cookies.deviceFor(value, 'alice@example.com')).toBeUndefined();
    expect(cookies.deviceFor(value.replace(/.{8}$/, '00000000'), 'bob@example.com')).toBeUndefined();
    expect(cookies.deviceFor(undefined, 'bob@example.com')).toBeUndefined();
    expect(cookies.deviceFor('garbage', 'bob@example.com')).toBeUndefined();
    expect(setup(false, 'another-pepper-0123456789abcdef').cookies.deviceFor(value, 'bob@example.com')).toBeUndefined();
  });

  it('expires after its lifetime', () => {
    const { cookies, clock } = setup();
    const { value, maxAgeMs } = cookies.issue('alice@example.com');
    clock.advance(maxAgeMs + 1000);
    expect(cookies.deviceFor(value, 'alice@example.com')).toBeUndefined();
  });

  it('uses the __Host- prefix when cookies are Secure', () => {
    expect(setup(true).cookies.name).toBe('__Host-twofold-device');
    expect(setup(false).cookies.name).toBe('twofold-device');
  });
});
