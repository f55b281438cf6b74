import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { createTrustedBrowsers, type TrustedBrowsers } from '../../../src/domain/trusted-browsers.ts';
import type { Person } from '../../../src/factors/factor.ts';
import { createCryptoRandom } from '../../../src/ports/random.ts';
import { createKeyedHash } from '../../../src/security/keyed-hash.ts';
import { openSqlDatabase, type SqlDatabase } from '../../../src/storage/sql/database.ts';
import { createSqlTrustedBrowserStore } from '../../../src/storage/sql/trusted-browser-store.ts';
import { trustedBrowserRows } from '../../../src/http/routes/trusted-browser-rows.ts';
import { USER_AGENTS } from '../../helpers/account-driver.ts';
import { createTestClock, type TestClock } from '../../helpers/clock.ts';
import { insertPerson } from '../../helpers/people.ts';

const T0 = Date.UTC(2031, 0, 1);
const HOUR = 3_600_000;

let sql: SqlDatabase;
let clock: TestClock;
let trusted: TrustedBrowsers;
let ada: Person;

beforeEach(async () => {
  sql = openSqlDatabase({ kind: 'sqlite', filename: ':memory:' });
  await sql.migrate();
  clock = createTestClock(T0);
  trusted = createTrustedBrowsers({
    store: createSqlTrustedBrowserStore(sql.db),
    keyedHash: createKeyedHash('p'.repeat(32)),
    clock,
    random: createCryptoRandom(),
  });
  ada = await insertPerson(sql.db);
});
afterEach(() => sql.close());

/** Issue 8: trusted browsers people can recognise. */
describe('trusted browsers', () => {
  it('are named with browser and system versions, and have no last use until they skip a second step', async () => {
    const { token } = await trusted.trust(ada, 30, USER_AGENTS.chromeOnWindows);
    const [listed] = await trusted.list(ada);
    expect(listed).toMatchObject({ label: 'Chrome 128 on Windows 10', createdAt: T0, lastUsedAt: null });

    clock.advance(5 * HOUR);
    expect(await trusted.isTrusted(ada, token)).toBe(true);
    expect((await trusted.list(ada))[0]).toMatchObject({ createdAt: T0, lastUsedAt: T0 + 5 * HOUR });
  });

  it('never echo a User-Agent header they do not recognise', async () => {
    await trusted.trust(ada, 30, 'Call +1 555 0100 <a href="https://evil.example">now</a>');
    await trusted.trust(ada, 30, '');
    expect((await trusted.list(ada)).map((b) => b.label).sort()).toEqual([
      'A browser',
      'An unrecognised browser or app',
    ]);
  });

  it('mark the asking browser as the current one, and only with its own token', async () => {
    const mine = await trusted.trust(ada, 30, USER_AGENTS.firefoxOnLinux);
    clock.advance(HOUR);
    await trusted.trust(ada, 30, USER_AGENTS.chromeOnWindows);
    const current = (list: { label: string; current: boolean }[]) => list.filter((b) => b.current).map((b) => b.label);
    expect(current(await trusted.list(ada, mine.token))).toEqual(['Firefox 130 on Linux']);
    expect(current(await trusted.list(ada))).toEqual([]);
    expect(current(await trusted.list(ada, 'x'.repeat(43)))).toEqual([]);
    expect(current(await trusted.list(ada, 'not a token'))).toEqual([]);
  });

  it("give every row's button its own name: this browser, then twins told apart by when they were trusted", async () => {
    const mine = await trusted.trust(ada, 30, USER_AGENTS.firefoxOnLinux);
    await trusted.trust(ada, 30, USER_AGENTS.chromeOnWindows);
    clock.advance(HOUR);
    await trusted.trust(ada, 30, USER_AGENTS.chromeOnWindows);
    await trusted.trust(ada, 30, USER_AGENTS.safariOnMacos);
    const labels = trustedBrowserRows(await trusted.list(ada, mine.token)).map((r) => r.stopLabel);
    expect(labels.sort()).toEqual([
      'Stop trusting Chrome 128 on Windows 10, trusted 2031-01-01 00:00 UTC',
      'Stop trusting Chrome 128 on Windows 10, trusted 2031-01-01 01:00 UTC',
      'Stop trusting Safari 17 on macOS 14.6',
      'Stop trusting this browser (Firefox 130 on Linux)',
    ]);
  });
});
