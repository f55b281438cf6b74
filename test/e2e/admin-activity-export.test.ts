import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Browser, browserOn, createAccountDriver, type Member } from '../helpers/account-driver.ts';
import { activityRows, activityTimes, csvObjects, parseCsv, personOf, typePassword } from '../helpers/activity.ts';
import { createTestClock } from '../helpers/clock.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * The export of the console's trail (CSV and JSON Lines) through the real server: it parses back
 * to the same events as the page, a cell that a spreadsheet would run as a formula stays text, each
 * export is itself recorded, and an administrator exports their own organization's events only.
 */
describe("the export of an organization's activity", () => {
  const clock = createTestClock(Date.now() - 3_600_000);
  let server: TestServer;
  const driver = createAccountDriver({ server: () => server, clock });
  const { open, page, url, withFactors, signIn } = driver;
  let grace: Member;
  let oscar: Member;
  const [graceBrowser, oscarBrowser] = [new Browser(), new Browser()];
  const FORMULA_NAME = '=HYPERLINK("http://evil.example","click")';

  const download = async (b: Browser, query: string) => {
    const response = await b.request(url(`/admin/activity/export?${query}`));
    return { response, text: await response.text() };
  };

  beforeAll(async () => {
    server = await startTestServer('sqlite', { clock });
    clock.tickOnRead(1);
    const app = server.app;
    grace = await personOf(app, { slug: 'acme', email: 'grace@acme.example', name: 'Grace Hopper', role: 'admin' });
    oscar = await personOf(app, { slug: 'globex', email: 'oscar@globex.example', name: 'Oscar Admin', role: 'admin' });
    // Everything Mallory controls (her name, her browser's User-Agent, the request id she sends)
    // starts the way a spreadsheet formula does.
    await personOf(app, { slug: 'acme', email: '-mallory@acme.example', name: FORMULA_NAME });
    for (const m of [grace, oscar]) await withFactors(m);
    await signIn(graceBrowser, grace);
    await signIn(oscarBrowser, oscar);
    for (const wrong of ['not it', 'nor this'])
      await typePassword(open, browserOn('@SUM(1+1)'), '-mallory@acme.example', wrong, {
        'x-request-id': '-1234567890',
      });
    await typePassword(open, new Browser(), 'grace@acme.example', 'not hers');
    await typePassword(open, new Browser(), 'oscar@globex.example', 'not his');
  });
  afterAll(async () => server?.close());

  it('writes the filtered trail as CSV, named after the organization and the day, that parses back', async () => {
    const { response, text } = await download(graceBrowser, 'format=csv&kind=failures');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const day = new Date(clock.now()).toISOString().slice(0, 10);
    expect(response.headers.get('content-disposition')).toBe(`attachment; filename="activity-acme-${day}.csv"`);
    const [header] = parseCsv(text);
    expect(header).toEqual([
      'time',
      'event',
      'description',
      'person_email',
      'person_name',
      'by',
      'address',
      'browser',
      'user_agent',
      'request_id',
      'detail',
    ]);
    const records = csvObjects(text);
    const onPage = await page(graceBrowser, '/admin/activity?kind=failures');
    expect(records.map((r) => r.time)).toEqual(activityTimes(onPage));
    expect(records.map((r) => r.event)).toEqual([
      'signin.password_failed',
      'signin.password_failed',
      'signin.password_failed',
    ]);
    expect(records[0]).toMatchObject({
      description: 'Wrong password entered',
      person_email: 'grace@acme.example',
      person_name: 'Grace Hopper',
      by: '',
      address: expect.stringMatching(/127\.0\.0\.1/),
      browser: 'Firefox 130 on Linux',
    });
    expect(JSON.parse(records[0]!.detail!)).toEqual({ method: 'password' });
  });

  it('keeps every cell that a spreadsheet would run as a formula as text (CSV injection)', async () => {
    const { text } = await download(graceBrowser, 'format=csv&person=mallory');
    const cells = parseCsv(text).flat();
    expect(cells.filter((cell) => /^[=+\-@\t\r]/.test(cell))).toEqual([]);
    const [failed] = csvObjects(text).filter((r) => r.event === 'signin.password_failed');
    expect(failed).toMatchObject({
      person_email: "'-mallory@acme.example",
      person_name: `'${FORMULA_NAME}`,
      browser: "'@SUM(1+1)",
      user_agent: "'@SUM(1+1)",
      request_id: "'-1234567890",
    });
    // On disk, the quotes inside the cell are doubled and the whole cell is quoted (RFC 4180).
    expect(text).toContain(`"'=HYPERLINK(""http://evil.example"",""click"")"`);
  });

  it('writes the same events as JSON Lines, values as they are', async () => {
    const { response, text } = await download(graceBrowser, 'format=jsonl&kind=failures');
    expect(response.headers.get('content-type')).toBe('application/jsonl; charset=utf-8');
    expect(response.headers.get('content-disposition')).toMatch(
      /^attachment; filename="activity-acme-[\d-]{10}\.jsonl"$/,
    );
    expect(text.endsWith('\n')).toBe(true);
    const lines = text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const csv = csvObjects((await download(graceBrowser, 'format=csv&kind=failures')).text);
    expect(lines.map((l) => l.time)).toEqual(csv.map((r) => r.time));
    const mallorys = lines.find((l) => (l.person as { email: string }).email === '-mallory@acme.example')!;
    expect(mallorys).toMatchObject({
      event: 'signin.password_failed',
      description: 'Wrong password entered',
      person: { id: expect.any(String), name: FORMULA_NAME },
      by: null,
      userAgent: '@SUM(1+1)',
      requestId: '-1234567890',
      detail: { method: 'password' },
    });
  });

  it('records each export with who asked for it, the format and the filters', async () => {
    await download(graceBrowser, 'format=csv&kind=failures&from=2031-01-01');
    const html = await page(graceBrowser, '/admin/activity?kind=administration');
    const exports = activityRows(html).filter((r) => r['What happened']?.startsWith('Activity exported'));
    expect(exports[0]).toMatchObject({
      'What happened': 'Activity exported (CSV; failed sign-ins; from 2031-01-01)',
      Person: 'Grace Hopper grace@acme.example',
    });
    expect(exports.length).toBeGreaterThanOrEqual(4);
    const { text } = await download(graceBrowser, 'format=jsonl&kind=administration');
    const recorded = text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { event: string; detail: Record<string, unknown> })
      .filter((l) => l.event === 'audit.exported');
    // The newest is this very export, recorded before it was read.
    expect(recorded[0]?.detail).toEqual({
      format: 'jsonl',
      person: null,
      kind: 'administration',
      from: null,
      to: null,
    });
    expect(recorded[1]?.detail).toEqual({
      format: 'csv',
      person: null,
      kind: 'failures',
      from: '2031-01-01T00:00:00.000Z',
      to: null,
    });
  });

  it("exports only the administrator's own organization, and refuses what it cannot read", async () => {
    const { text } = await download(oscarBrowser, 'format=csv');
    const people = new Set(csvObjects(text).map((r) => r.person_email));
    expect(people).toEqual(new Set(['oscar@globex.example']));
    expect(text).not.toContain('acme');
    expect(csvObjects((await download(oscarBrowser, 'format=csv&person=grace%40acme.example')).text)).toEqual([]);
    for (const query of ['format=xlsx', 'format=csv&to=2031-13-01', 'kind=failures']) {
      const { response, text: body } = await download(graceBrowser, query);
      expect(response.status, query).toBe(400);
      expect(body).not.toContain('Something went wrong');
    }
  });
});
