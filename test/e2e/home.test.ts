import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { seedUser } from '../helpers/seed.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** Issue 8: the home page says when setup is pending, and afterwards points people at their account. */
describe('the home page', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer('sqlite');
  });
  afterAll(async () => server?.close());

  const home = async () => (await fetch(`${server.issuer}/`)).text();

  it('says setup is pending before the first organization exists, and shows no developer addresses', async () => {
    const html = await home();
    expect(html).toContain('This sign-in service is not set up yet.');
    expect(html).not.toContain('openid-configuration');
    expect(html).not.toContain('href="/account"');
  });

  it('links to the account pages once an organization exists', async () => {
    await seedUser(server.app);
    const html = await home();
    expect(html).toContain('href="/account"');
    expect(html).not.toContain('not set up yet');
    expect(html).not.toContain('openid-configuration');
  });
});
