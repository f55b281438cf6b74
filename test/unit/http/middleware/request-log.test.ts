import { describe, expect, it } from 'vitest';

import { loggedPath } from '../../../../src/http/middleware/request-log.ts';

describe('the request log', () => {
  it('leaves the secret of an emailed link out of the logged path', () => {
    const secret = 'q7Jc1nVt0aF3Hk2mXbP9wL4sR8eY6uZdGiOoTnKvA5c';
    expect(loggedPath(`/reset-password/${secret}`)).toBe('/reset-password/…');
    expect(loggedPath(`/invitation/${secret}`)).toBe('/invitation/…');
    expect(loggedPath(`/reset-password/${secret}/anything`)).toBe('/reset-password/…/anything');
  });

  it('keeps every other path as it is', () => {
    for (const path of [
      '/reset-password',
      '/reset-password/verify',
      '/reset-password/verify/totp',
      '/invitation',
      '/account',
    ])
      expect(loggedPath(path)).toBe(path);
  });
});
