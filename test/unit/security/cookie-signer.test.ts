import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';

import { createCookieSigner } from '../../../src/security/cookie-signer.ts';

const NEW = 'n'.repeat(32);
const OLD = 'o'.repeat(32);
/** What Keygrip (koa's default) writes: HMAC-SHA1, base64 made URL-safe without padding. */
const keygrip = (key: string, data: string) =>
  createHmac('sha1', key)
    .update(data)
    .digest('base64')
    .replace(/\/|\+|=/g, (x) => ({ '/': '_', '+': '-', '=': '' })[x]!);

describe('cookie signer', () => {
  const signer = createCookieSigner([NEW, OLD]);

  it('signs as Keygrip does, with the newest key: cookies already in browsers stay valid', () => {
    expect(signer.sign('_session=abc')).toBe(keygrip(NEW, '_session=abc'));
  });

  it('verifies signatures of every key and says which key made them (rotation signs no one out)', () => {
    expect(signer.index('_session=abc', keygrip(NEW, '_session=abc'))).toBe(0);
    expect(signer.index('_session=abc', keygrip(OLD, '_session=abc'))).toBe(1);
    expect(signer.verify('_session=abc', keygrip(OLD, '_session=abc'))).toBe(true);
  });

  it('refuses a signature of another value, another key, a truncated one or a missing one', () => {
    const good = keygrip(NEW, '_session=abc');
    expect(signer.index('_session=abd', good)).toBe(-1);
    expect(signer.index('_session=abc', keygrip('x'.repeat(32), '_session=abc'))).toBe(-1);
    expect(signer.index('_session=abc', good.slice(0, -1))).toBe(-1);
    expect(signer.index('_session=abc', '')).toBe(-1);
    expect(signer.verify('_session=abc', undefined as unknown as string)).toBe(false);
  });

  it('needs a key', () => {
    expect(() => createCookieSigner([])).toThrow();
  });
});
