import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { IN_CI } from '../helpers/backends.ts';
import { dovecotMissing, imapLogin, pop3Login, startDovecot, type RunningDovecot } from '../helpers/dovecot.ts';
import { propfind, radicaleMissing, startRadicaleBehindNginx, type RunningRadicale } from '../helpers/radicale.ts';
import { enrolTotp, PASSWORD, seedUser, type Seeded } from '../helpers/seed.ts';
import { createTestClock } from '../helpers/clock.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** Real servers or a visible skip; under CI=true a missing server fails the run (.ci/run installs them). */
function skipFor(missing: string | null): string | null {
  if (!missing) return null;
  if (IN_CI) throw new Error(`CI=true but ${missing}`);
  console.warn(`SKIPPED: ${missing}`);
  return missing;
}
const dovecotSkip = skipFor(dovecotMissing()) !== null;
const radicaleSkip = skipFor(radicaleMissing()) !== null;

/**
 * Twofold behind real, unchanged legacy servers: Dovecot 2.3's oauth2 passdb (password grant and
 * introspection in post mode) for IMAP and POP3, and Radicale (CalDAV) behind nginx auth_request
 * to /forward-auth. People with two-step verification sign in with app passwords only.
 */
describe('real mail and calendar servers', () => {
  const clock = createTestClock();
  let server: TestServer;
  let dovecot: RunningDovecot | undefined;
  let radicale: RunningRadicale | undefined;
  let ada: Seeded;
  let mailPassword: { id: string; password: string };
  let calendarPassword: string;
  const person = () => ({ orgId: ada.org.id, userId: ada.user.id, email: ada.user.email });

  beforeAll(async () => {
    server = await startTestServer('sqlite', { clock });
    const mail = await server.app.services.clients.registerClient({
      clientId: 'dovecot',
      grants: ['password'],
      authMethod: 'client_secret_post',
      introspection: true,
      // The protocols this server serves: an app password for calendars only is refused here.
      scopes: ['imap', 'pop3', 'smtp'],
    });
    const proxy = await server.app.services.clients.registerClient({
      clientId: 'nginx',
      grants: ['client_credentials'],
      forwardAuth: true,
    });
    ada = await seedUser(server.app, { email: 'ada@example.com' });
    await enrolTotp(server.app, ada, clock.now());
    const created = await server.app.services.appPasswords.create(
      person(),
      ada.org,
      true,
      { name: 'Thunderbird', scopes: ['imap', 'pop3', 'smtp'] },
      '127.0.0.1',
    );
    mailPassword = { id: created.summary.id, password: created.password };
    calendarPassword = (
      await server.app.services.appPasswords.create(
        person(),
        ada.org,
        true,
        { name: 'Phone calendar', scopes: ['dav'] },
        '127.0.0.1',
      )
    ).password;
    if (!dovecotSkip) {
      dovecot = await startDovecot({
        tokenUrl: `${server.issuer}/token`,
        introspectionUrl: `${server.issuer}/token/introspection`,
        clientId: 'dovecot',
        clientSecret: mail.secret!,
      });
    }
    if (!radicaleSkip) {
      radicale = await startRadicaleBehindNginx({
        forwardAuthUrl: `${server.issuer}/forward-auth`,
        clientId: 'nginx',
        clientSecret: proxy.secret!,
      });
    }
  }, 60_000);
  afterAll(async () => {
    await dovecot?.stop();
    await radicale?.stop();
    await server?.close();
  });

  it.skipIf(dovecotSkip)(
    'Dovecot signs in over IMAP and POP3 with an app password, typed in any case and with spaces',
    async () => {
      expect(await imapLogin(dovecot!.imapPort, 'Ada@Example.com', mailPassword.password), dovecot!.logs()).toBe('OK');
      expect(await pop3Login(dovecot!.pop3Port, 'ada@example.com', mailPassword.password.replaceAll(' ', ''))).toBe(
        'OK',
      );
    },
  );

  it.skipIf(dovecotSkip)(
    'Dovecot refuses (as a wrong password, not a temporary failure) the account password under TFA and a wrong app password',
    async () => {
      expect(await imapLogin(dovecot!.imapPort, 'ada@example.com', PASSWORD)).toBe('NO');
      expect(await imapLogin(dovecot!.imapPort, 'ada@example.com', 'abcd efgh jkmn pqrs tuvw')).toBe('NO');
      expect(await pop3Login(dovecot!.pop3Port, 'nobody@example.com', mailPassword.password)).toBe('NO');
      // The calendar's app password is not for mail.
      expect(await imapLogin(dovecot!.imapPort, 'ada@example.com', calendarPassword)).toBe('NO');
    },
  );

  it.skipIf(radicaleSkip)(
    'Radicale behind nginx answers CalDAV PROPFIND with an app password, and 401 without one or with the account password',
    async () => {
      expect(await propfind(radicale!.url, 'ada@example.com', calendarPassword), radicale!.logs()).toBe(207);
      expect(await propfind(radicale!.url)).toBe(401);
      expect(await propfind(radicale!.url, 'ada@example.com', PASSWORD)).toBe(401);
      expect(await propfind(radicale!.url, 'ada@example.com', mailPassword.password)).toBe(401);
    },
  );

  it.skipIf(dovecotSkip)('a revoked app password is refused by Dovecot at the next login', async () => {
    await server.app.services.appPasswords.revoke(person(), mailPassword.id, '127.0.0.1');
    expect(await imapLogin(dovecot!.imapPort, 'ada@example.com', mailPassword.password)).toBe('NO');
    expect(await pop3Login(dovecot!.pop3Port, 'ada@example.com', mailPassword.password)).toBe('NO');
  });

  it.skipIf(radicaleSkip)('revoking every app password cuts the calendar off too', async () => {
    await server.app.services.appPasswords.revokeAll(person(), '127.0.0.1');
    expect(await propfind(radicale!.url, 'ada@example.com', calendarPassword)).toBe(401);
  });
});
