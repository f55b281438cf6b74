import { describe, expect, it } from 'vitest';

import {
  ACR_MFA,
  ACR_PASSWORD,
  acrFor,
  amrFor,
  isMultiFactor,
  mfaRequested,
  type CompletedMethod,
} from '../../../src/domain/authentication.ts';

const at = 1_924_992_000;
const password: CompletedMethod = { method: 'password', amr: ['pwd'], at };
const totp: CompletedMethod = { method: 'totp', amr: ['otp'], at: at + 20 };
const sms: CompletedMethod = { method: 'sms', amr: ['sms'], at: at + 20 };
const passkey: CompletedMethod = { method: 'passkey', amr: ['hwk', 'user'], at };
const securityKeyOnly: CompletedMethod = { method: 'webauthn', amr: ['hwk'], at };

describe('acr and amr from the completed methods (OIDC Core §2, RFC 8176)', () => {
  it('a password alone is the password class, amr ["pwd"]', () => {
    expect(acrFor([password])).toBe(ACR_PASSWORD);
    expect(amrFor([password])).toEqual(['pwd']);
    expect(isMultiFactor([password])).toBe(false);
  });

  it('a password and a one-time code is MFA, with "mfa" appended', () => {
    expect(acrFor([password, totp])).toBe(ACR_MFA);
    expect(amrFor([password, totp])).toEqual(['pwd', 'otp', 'mfa']);
    expect(amrFor([password, sms])).toEqual(['pwd', 'sms', 'mfa']);
  });

  it('a passkey that verified the user is MFA on its own', () => {
    expect(acrFor([passkey])).toBe(ACR_MFA);
    expect(amrFor([passkey])).toEqual(['hwk', 'user', 'mfa']);
  });

  it('a security key without user verification is one factor', () => {
    expect(acrFor([securityKeyOnly])).toBe(ACR_PASSWORD);
    expect(amrFor([securityKeyOnly])).toEqual(['hwk']);
  });

  it('repeats no value', () => {
    expect(amrFor([password, password, totp, { ...totp, method: 'recovery' }])).toEqual(['pwd', 'otp', 'mfa']);
  });

  it('two codes of one category are not two factors', () => {
    expect(acrFor([totp, sms])).toBe(ACR_PASSWORD);
  });
});

describe('mfaRequested (OIDC Core §3.1.2.1, §5.5.1.1)', () => {
  it.each([
    [{ acr_values: ACR_MFA }, true],
    [{ acr_values: `${ACR_PASSWORD} ${ACR_MFA}` }, false],
    [{ acr_values: ACR_PASSWORD }, false],
    [{}, false],
    [{ acr_values: 42 }, false],
    [{ claims: JSON.stringify({ id_token: { acr: { value: ACR_MFA } } }) }, true],
    [{ claims: JSON.stringify({ id_token: { acr: { essential: true, values: [ACR_MFA] } } }) }, true],
    [{ claims: JSON.stringify({ id_token: { acr: { values: [ACR_PASSWORD, ACR_MFA] } } }) }, false],
    [{ claims: JSON.stringify({ id_token: { acr: { values: [] } } }) }, false],
    [{ claims: JSON.stringify({ userinfo: { acr: { value: ACR_MFA } } }) }, false],
    [{ claims: '{"id_token":{"acr":' }, false],
    [{ claims: 'null' }, false],
  ])('%j → %s', (params, expected) => {
    expect(mfaRequested(params)).toBe(expected);
  });
});
