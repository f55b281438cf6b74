import { describe, expect, it } from 'vitest';

import { pageOfAction } from '../../../../src/http/routes/account-sign-in-cancel.ts';

/** Where a cancelled step-up goes back to: the page the change was made on, never one that asks again. */
describe('pageOfAction', () => {
  it.each([
    ['/account/two-factor/method/totp', false, '/account/two-factor'],
    ['/account/app-passwords', false, '/account/app-passwords'],
    ['/account/password', true, '/account'],
    ['/admin/people/u_1/methods/f_2/remove', false, '/admin/people/u_1'],
    ['/admin/people/u_1/access-code/revoke', true, '/admin/people/u_1'],
    ['/admin/security/sessions', false, '/admin/security'],
    ['/admin/invitations', false, '/admin/invitations'],
    ['/account', true, '/account'],
    ['/elsewhere/page', false, '/account'],
  ])('%s (page asks too: %s) → %s', (path, pageAsksToo, page) => {
    expect(pageOfAction(path, pageAsksToo)).toBe(page);
  });
});
