import { describe, expect, it } from 'vitest';

import {
  createPasswordPolicy,
  normalizePassword,
  type PasswordContext,
  type PasswordRules,
} from '../../../../src/domain/passwords/policy.ts';

const policy = createPasswordPolicy();
const SINGLE_FACTOR: PasswordRules = { minLength: 15, maxLength: 256 };
const WITH_TFA: PasswordRules = { minLength: 8, maxLength: 256 };

const codes = (password: string, rules = SINGLE_FACTOR, context?: PasswordContext) =>
  policy.check(password, rules, context).map((problem) => problem.code);

/** `count` distinct astral code points (two UTF-16 units each), stepping by 2 so they are not a run. */
const emoji = (count: number) => String.fromCodePoint(...Array.from({ length: count }, (_, i) => 0x1f400 + 2 * i));

describe('password length (NIST SP 800-63B §3.1.1.2)', () => {
  it('refuses a password shorter than the minimum, saying how long it must be', () => {
    const [problem, ...rest] = policy.check('kqzvmwpxtrbnfh', SINGLE_FACTOR);
    expect(rest).toEqual([]);
    expect(problem?.code).toBe('too_short');
    expect(problem?.message).toContain('at least 15');
    expect(problem?.message).toContain('you have 14');
  });

  it('accepts exactly the minimum', () => {
    expect(codes('kqzvmwpxtrbnfhd')).toEqual([]);
  });

  it('applies the rules it is given: 8 characters suffice where a second factor is required', () => {
    expect(codes('kqzvmwpx', WITH_TFA)).toEqual([]);
    expect(codes('kqzvmwp', WITH_TFA)).toEqual(['too_short']);
  });

  it('accepts 64 characters and more', () => {
    const long = 'violet tractors hum quietly beneath seven orange lanterns at dusk';
    expect([...long].length).toBeGreaterThanOrEqual(64);
    expect(codes(long)).toEqual([]);
    expect(codes(`${long} ${long} ${long}`)).toEqual([]);
  });

  it('refuses a password over the maximum with that single problem', () => {
    const rules = { minLength: 15, maxLength: 64 };
    const at = 'kqzvmwpxtrbnfhd '.repeat(4);
    expect(codes(at, rules)).toEqual([]);
    const problems = policy.check(`${at}!`, rules);
    expect(problems.map((p) => p.code)).toEqual(['too_long']);
    expect(problems[0]?.message).toContain('at most 64');
  });

  it('counts code points, not UTF-16 units', () => {
    expect(emoji(8)).toHaveLength(16);
    expect(codes(emoji(8), WITH_TFA)).toEqual([]);
    expect(policy.check(emoji(8), SINGLE_FACTOR)[0]?.message).toContain('you have 8');
    expect(codes(emoji(64), { minLength: 15, maxLength: 64 })).toEqual([]);
  });

  it('reports an empty password as too short and nothing else', () => {
    expect(codes('')).toEqual(['too_short']);
  });
});

describe('password composition', () => {
  it('has no composition rules: a long lowercase passphrase passes', () => {
    expect(codes('correct horse battery staple')).toEqual([]);
  });

  it('accepts any Unicode, spaces included', () => {
    expect(codes('мой пароль из четырёх слов')).toEqual([]);
    expect(codes('パスワードは長い文章にしましょう')).toEqual([]);
  });
});

describe('password normalization (NFKC)', () => {
  it('maps fullwidth letters and digits to ASCII', () => {
    expect(normalizePassword('ｐａｓｓｗｏｒｄ１２３４')).toBe('password1234');
  });

  it('maps composed and decomposed accents to the same string', () => {
    expect(normalizePassword('caf\u00e9')).toBe(normalizePassword('cafe\u0301'));
  });

  it('checks the normalized form, so a fullwidth common password is still refused', () => {
    expect(codes('ｐａｓｓｗｏｒｄ１２３４', WITH_TFA)).toEqual(['common']);
  });

  it('measures the normalized length', () => {
    // U+FB03 "ﬃ" is one code point that NFKC expands to three letters.
    expect(codes('\ufb03\ufb03kqzvm', WITH_TFA)).toEqual([]);
  });
});

describe('common passwords', () => {
  it('refuses a password on the list', () => {
    const problems = policy.check('password1234', WITH_TFA);
    expect(problems.map((p) => p.code)).toEqual(['common']);
    expect(problems[0]?.message).toMatch(/commonly used or leaked/);
  });

  it('compares case-insensitively', () => {
    expect(codes('PassWord1234', WITH_TFA)).toEqual(['common']);
    expect(codes('ILOVEYOU', WITH_TFA)).toEqual(['common']);
  });

  it('refuses listed passwords that meet the single-factor length', () => {
    expect(codes('123456789987654321')).toEqual(['common']);
  });

  it('reports length first, then the list', () => {
    expect(codes('password')).toEqual(['too_short', 'common']);
  });

  it('ignores the comment lines of the list file', () => {
    expect(codes('# Common passwords of 8+ characters, lowercased, most common first.')).toEqual([]);
  });
});

describe('repetitive and sequential passwords', () => {
  it('refuses a single repeated character', () => {
    expect(codes('aaaaaaaaaaaaaaaa')).toEqual(['repetitive']);
  });

  it('refuses two alternating characters', () => {
    expect(codes('abababababababab')).toEqual(['repetitive']);
    expect(codes('AbAbAbAbAbAbAbAb')).toEqual(['repetitive']);
  });

  it('refuses an ascending or descending run', () => {
    expect(codes('abcdefghijklmnop')).toEqual(['repetitive']);
    expect(codes('zyxwvutsrqponmlk')).toEqual(['repetitive']);
    expect(codes('23456789', WITH_TFA)).toEqual(['repetitive']);
  });

  it('accepts a run inside a longer password', () => {
    expect(codes('abcdefgh plus a walrus')).toEqual([]);
  });
});

describe('passwords built on the person or organization', () => {
  const context: PasswordContext = {
    email: 'margaret.hamilton@example.com',
    name: 'Grace Brewster Hopper',
    organization: 'Analytical Engines',
  };

  it('refuses the email local part, alone or with a short suffix', () => {
    expect(codes('margaret.hamilton', SINGLE_FACTOR, context)).toEqual(['contextual']);
    expect(codes('Margaret.Hamilton!1', SINGLE_FACTOR, context)).toEqual(['contextual']);
  });

  it('refuses the whole email address', () => {
    expect(codes('margaret.hamilton@example.com', SINGLE_FACTOR, context)).toEqual(['contextual']);
  });

  it('refuses the name and the organization name', () => {
    expect(codes('grace brewster hopper', SINGLE_FACTOR, context)).toEqual(['contextual']);
    expect(codes('ANALYTICAL ENGINES 1', SINGLE_FACTOR, context)).toEqual(['contextual']);
  });

  it('refuses the product name even without context', () => {
    expect(codes('twofold123', WITH_TFA)).toEqual(['contextual']);
  });

  it('explains the refusal', () => {
    const problem = policy.check('margaret.hamilton', SINGLE_FACTOR, context)[0];
    expect(problem?.message).toMatch(/email, your name or your organization/);
  });

  it('accepts a password that merely contains a context word among others', () => {
    expect(codes('margaret.hamilton likes purple tractors', SINGLE_FACTOR, context)).toEqual([]);
  });

  it('ignores context words shorter than four characters', () => {
    expect(codes('bob kqzvm', WITH_TFA, { email: 'bob@example.com', name: 'Bo' })).toEqual([]);
  });

  it('accepts a null name', () => {
    expect(codes('correct horse battery staple', SINGLE_FACTOR, { name: null })).toEqual([]);
  });
});

describe('predictable patterns found in review', () => {
  const policy = createPasswordPolicy();
  const rules = { minLength: 15, maxLength: 256 };
  it.each([
    '1234567890123456',
    '123123123123123123',
    'abcabcabcabcabca',
    'qwertyuiopasdfgh',
    'hgfdsapoiuytrewq',
    'passpasspasspass',
  ])('refuses %s', (password) => {
    expect(policy.check(password, rules).map((p) => p.code)).toContain('repetitive');
  });
  it('still accepts an unrelated passphrase', () => {
    expect(policy.check('violet tractor harbour lemon', rules)).toEqual([]);
  });
});
