import type { TwofoldApp } from '../../src/app.ts';
import type { Organization, Role } from '../../src/ports/stores.ts';
import type { Browser, Member, Page } from './account-driver.ts';
import { readForm } from './agent.ts';
import { PASSWORD } from './seed.ts';

/**
 * Helpers of the audit-trail suites (admin-activity*.test.ts, audit-trail.security.test.ts): people
 * with names of their own, a password typed on the real sign-in page, and the Activity pages and
 * exports read back into plain values.
 */

/** Someone of `slug` (the organization is made when missing) with their own name and role. */
export async function personOf(
  app: TwofoldApp,
  input: { slug: string; email: string; name: string; role?: Role },
): Promise<Member> {
  const org: Organization =
    (await app.stores.organizations.findOrganizationBySlug(input.slug)) ??
    (await app.services.organizations.createOrganization({ slug: input.slug, name: input.slug.toUpperCase() }));
  const user = await app.services.accounts.createUser(org, { ...input, password: PASSWORD });
  return { seeded: { org, user, password: PASSWORD }, password: PASSWORD, secret: null, lastStep: 0 };
}

/** Types an email and password on the sign-in page in `b` (a browser not signed in); the answer to the form. */
export async function typePassword(
  open: (b: Browser, path: string) => Promise<Page>,
  b: Browser,
  email: string,
  password: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  const start = await open(b, '/account');
  const login = readForm(await start.response.text(), /\/login$/);
  const target = new URL(login.action, start.url);
  return b.request(target, { form: { _csrf: login.csrf, email, password }, headers });
}

export type ActivityCells = Record<string, string>;

const textOf = (html: string) =>
  html
    .replace(/<br>/g, ' ')
    .replace(/<[^>]+>/g, '')
    .replace(/&#34;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();

/** The rows of an Activity table, each as { "Time (UTC)": …, "What happened": …, … }. */
export function activityRows(html: string): ActivityCells[] {
  const body = /<tbody>([^]*?)<\/tbody>/.exec(html)?.[1] ?? '';
  return [...body.matchAll(/<tr>([^]*?)<\/tr>/g)].map((row) =>
    Object.fromEntries(
      [...row[1]!.matchAll(/<td data-label="([^"]+)"[^>]*>([^]*?)<\/td>/g)].map((cell) => [cell[1]!, textOf(cell[2]!)]),
    ),
  );
}

/** The `<time datetime>` values of an Activity table, in the order shown. */
export const activityTimes = (html: string) => [...html.matchAll(/<time datetime="([^"]+)">/g)].map((m) => m[1]!);

/** A link of the page by its text (&amp; decoded). */
export function linkNamed(html: string, text: string): string | null {
  const found = [...html.matchAll(/<a href="([^"]+)"[^>]*>([^<]+)<\/a>/g)].find((m) => m[2]!.trim() === text);
  return found ? found[1]!.replaceAll('&amp;', '&') : null;
}

/** RFC 4180: quoted fields with doubled quotes, CRLF between records; a leading byte-order mark dropped. */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let cell = '';
  let quoted = false;
  const input = text.replace(/^\uFEFF/, '');
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (quoted && c === '"' && input[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (c === '"') {
      quoted = !quoted;
    } else if (!quoted && c === ',') {
      record.push(cell);
      cell = '';
    } else if (!quoted && c === '\r' && input[i + 1] === '\n') {
      records.push([...record, cell]);
      record = [];
      cell = '';
      i++;
    } else {
      cell += c;
    }
  }
  if (cell !== '' || record.length > 0) records.push([...record, cell]);
  return records;
}

/** CSV records as objects keyed by the header row. */
export function csvObjects(text: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(text);
  return rows.map((row) => Object.fromEntries(header!.map((name, i) => [name, row[i] ?? ''])));
}
