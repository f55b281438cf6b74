import { describe, expect, it } from 'vitest';

import { isPasswordExpired } from '../../../src/domain/passwords/expiry.ts';
import { hasEnded, secondsLeft, sessionLifetimeOf } from '../../../src/domain/session-lifetime.ts';
import { anOrganization } from '../../helpers/people.ts';

/** NIST SP 800-63B §4.2.3 (AAL2): 12 hours since authentication at most, 30 minutes idle. */
describe('session lifetimes', () => {
  const lifetime = sessionLifetimeOf(anOrganization());
  const signedIn = 1_000_000;

  it('default to the AAL2 limits', () => {
    expect(lifetime).toEqual({ maxSeconds: 12 * 3600, idleSeconds: 30 * 60 });
  });

  it('let a session go unused for the idle limit, cut short at the absolute one', () => {
    expect(secondsLeft(lifetime, signedIn, signedIn)).toBe(1800);
    expect(secondsLeft(lifetime, signedIn, signedIn + 12 * 3600 - 600)).toBe(600);
    expect(secondsLeft(lifetime, signedIn, signedIn + 12 * 3600)).toBe(0);
  });

  it('end a session at either limit, to the second', () => {
    const at = (authTime: number, activeAt: number, now: number) => hasEnded(lifetime, { authTime, activeAt }, now);
    expect(at(signedIn, signedIn, signedIn + 1799)).toBe(false);
    expect(at(signedIn, signedIn, signedIn + 1800)).toBe(true);
    const lateActivity = signedIn + 12 * 3600 - 60;
    expect(at(signedIn, lateActivity, lateActivity + 59)).toBe(false);
    expect(at(signedIn, lateActivity, lateActivity + 60)).toBe(true);
  });
});

describe('password expiry', () => {
  const DAY = 86_400_000;
  const account = (passwordMaxAgeDays: number | null) => ({
    organization: anOrganization({ passwordMaxAgeDays }),
    user: { passwordChangedAt: 10 * DAY } as never,
  });

  it('is off unless the organization sets a number of days (NIST advises against it)', () => {
    expect(isPasswordExpired(account(null), 10_000 * DAY)).toBe(false);
  });

  it('applies from the day the password is that old', () => {
    expect(isPasswordExpired(account(90), 100 * DAY - 1)).toBe(false);
    expect(isPasswordExpired(account(90), 100 * DAY)).toBe(true);
  });
});
