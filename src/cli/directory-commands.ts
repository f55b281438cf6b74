import { TFA_STATUSES, type TfaStatus } from '../domain/people.ts';
import { countryName, countrySchema } from '../domain/phone-numbers.ts';
import { PHISHING_RESISTANT_POLICIES, type Organization } from '../ports/stores.ts';
import { UsageError } from './usage-error.ts';
import { pick, required, str, type Command, type Values } from './values.ts';

/** An organization as --json prints it (org create, show and update alike). */
export const orgJson = (org: Organization) => ({
  id: org.id,
  slug: org.slug,
  name: org.name,
  enforceTfa: org.enforceTfa,
  trustedBrowserDays: org.trustedBrowserDays,
  passwordMinLength: org.passwordMinLength,
  appPasswords: org.appPasswords,
  legacyPasswordAccess: org.legacyPasswordAccess,
  tfaGraceDays: org.tfaGraceDays,
  allowedMethods: org.allowedMethods,
  phishingResistant: org.phishingResistant,
  defaultCountry: org.defaultCountry,
});

const orgText = (org: Organization) =>
  [
    `${org.slug} (${org.name})`,
    `two-step verification: ${org.enforceTfa ? 'required for everyone' : 'each person chooses'}`,
    `trusted browsers: ${org.trustedBrowserDays === 0 ? 'off' : `${org.trustedBrowserDays} days`}`,
    `minimum password length: ${org.passwordMinLength ?? 'default'}`,
    `app passwords: ${org.appPasswords}; account password for mail servers: ${org.legacyPasswordAccess ? 'allowed without TFA' : 'never'}`,
    `enrolment grace: ${org.tfaGraceDays} days; allowed methods: ${org.allowedMethods?.join(', ') ?? 'all'}; phishing-resistant methods required of: ${org.phishingResistant}`,
    `default country for phone numbers: ${org.defaultCountry ? `${org.defaultCountry} (${countryName(org.defaultCountry)})` : 'none (international format)'}`,
  ].join('\n');

/**
 * --default-country: an ISO 3166-1 alpha-2 code with a numbering plan (GB, US), or "none" to
 * clear it; undefined when absent.
 */
export function defaultCountryOption(values: Values): string | null | undefined {
  const given = str(values, 'default-country');
  if (given === undefined) return undefined;
  if (given.toLowerCase() === 'none') return null;
  const country = countrySchema.safeParse(given);
  if (!country.success)
    throw new UsageError(
      `--default-country must be a two-letter country code with phone numbers, such as GB or US, or "none" (got "${given}")`,
    );
  return country.data;
}

/** A whole number flag, checked against its range; undefined when absent. */
function wholeNumber(value: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,4}$/.test(value) || Number(value) < min || Number(value) > max)
    throw new UsageError(`--${flag} must be a whole number from ${min} to ${max}`);
  return Number(value);
}

/** --tfa-grace-days, --allowed-methods (kinds, comma-separated, or "all") and --phishing-resistant. */
function methodOptions(values: Values) {
  const allowed = str(values, 'allowed-methods');
  const resistant = str(values, 'phishing-resistant');
  return {
    tfaGraceDays: wholeNumber(str(values, 'tfa-grace-days'), 'tfa-grace-days', 0, 90),
    allowedMethods:
      allowed === undefined ? undefined : allowed === 'all' ? null : allowed.split(',').map((k) => k.trim()),
    phishingResistant:
      resistant === undefined ? undefined : pick(resistant, PHISHING_RESISTANT_POLICIES, 'phishing-resistant'),
  };
}

const orgShow: Command = {
  name: 'org show',
  usage: 'twofold org show <slug>: the organization and its security policy.',
  options: [],
  async run({ args, openApp }) {
    if (args.length !== 1) throw new UsageError('org show takes exactly one <slug>');
    const org = await (await openApp()).services.organizations.requireOrganization(args[0]!);
    return { text: orgText(org), json: orgJson(org) };
  },
};

const orgUpdate: Command = {
  name: 'org update',
  usage:
    'twofold org update <slug> [--enforce-tfa | --no-enforce-tfa] [--trusted-browser-days <0-365>] [--password-min-length <8-64>] [--tfa-grace-days <0-90>] [--allowed-methods <kind,…>|all] [--phishing-resistant none|admins|everyone] [--default-country <GB|US|…>|none]',
  options: [
    'enforce-tfa',
    'no-enforce-tfa',
    'trusted-browser-days',
    'password-min-length',
    'tfa-grace-days',
    'allowed-methods',
    'phishing-resistant',
    'default-country',
  ],
  async run({ values, args, openApp }) {
    if (args.length !== 1) throw new UsageError('org update takes exactly one <slug>');
    const defaultCountry = defaultCountryOption(values);
    if (values['enforce-tfa'] === true && values['no-enforce-tfa'] === true)
      throw new UsageError('give --enforce-tfa or --no-enforce-tfa, not both');
    const trustedBrowserDays = wholeNumber(str(values, 'trusted-browser-days'), 'trusted-browser-days', 0, 365);
    const passwordMinLength = wholeNumber(str(values, 'password-min-length'), 'password-min-length', 8, 64);
    const enforceTfa = values['enforce-tfa'] === true ? true : values['no-enforce-tfa'] === true ? false : undefined;
    const methods = methodOptions(values);
    const app = await openApp();
    const org = await app.services.organizations.requireOrganization(args[0]!);
    const updated = await app.services.organizations.updatePolicy(
      org,
      { enforceTfa, trustedBrowserDays, passwordMinLength, ...methods, defaultCountry },
      { userId: null, actor: 'cli' },
    );
    return { text: orgText(updated), json: orgJson(updated) };
  },
};

const userList: Command = {
  name: 'user list',
  usage: 'twofold user list --org <slug> [--search <text>] [--tfa enforced|own|off|grace|not_enrolled]',
  options: ['org', 'search', 'tfa'],
  async run({ values, openApp }) {
    const slug = required(values, 'org');
    const tfa = str(values, 'tfa');
    const status = tfa === undefined ? null : pick<TfaStatus>(tfa, TFA_STATUSES, 'tfa');
    const app = await openApp();
    const org = await app.services.organizations.requireOrganization(slug);
    const rows: unknown[] = [];
    const lines: string[] = [];
    for (let page = 1, pages = 1; page <= pages; page++) {
      const listed = await app.services.people.list(org, { search: str(values, 'search') ?? '', status, page });
      pages = listed.pages;
      rows.push(...listed.rows);
      lines.push(...listed.rows.map((r) => `${r.email}\t${r.role}\t${r.tfa}\t${r.methods.join(',') || '-'}`));
    }
    return { text: lines.length ? lines.join('\n') : 'no people match', json: { org: org.slug, people: rows } };
  },
};

const userShow: Command = {
  name: 'user show',
  usage: 'twofold user show --email <email>: a person, their two-step status, methods and app passwords.',
  options: ['email'],
  async run({ values, openApp }) {
    const email = required(values, 'email');
    const app = await openApp();
    const found = await app.stores.users.findUserByEmail(email);
    if (!found) throw new UsageError(`there is no user with email ${email}`);
    const detail = await app.services.people.describe(found.organization, found.user.id);
    const text = [
      `${detail.email} (${detail.name ?? 'no name'}), ${detail.role} of ${found.organization.slug}`,
      `account: ${detail.disabledAt === null ? 'active' : `disabled since ${new Date(detail.disabledAt).toISOString()}`}`,
      `two-step verification: ${detail.tfa}`,
      `methods: ${detail.methodDetails.map((m) => `${m.kindName} "${m.label}"`).join(', ') || 'none'}`,
      `app passwords: ${detail.appPasswords.map((p) => `"${p.name}" (${p.scopes.join(' ')})`).join(', ') || 'none'}`,
    ].join('\n');
    return {
      text,
      json: {
        id: detail.id,
        email: detail.email,
        name: detail.name,
        role: detail.role,
        disabledAt: detail.disabledAt,
        org: found.organization.slug,
        tfa: detail.tfa,
        methods: detail.methodDetails.map((m) => ({
          id: m.id,
          kind: m.kind,
          label: m.label,
          createdAt: m.createdAt,
          lastUsedAt: m.lastUsedAt,
        })),
        appPasswords: detail.appPasswords.map((p) => ({
          id: p.id,
          name: p.name,
          scopes: p.scopes,
          lastUsedAt: p.lastUsedAt,
        })),
      },
    };
  },
};

/** The directory and policy commands an operator scripts (DESIGN §4). */
export const ORG_AND_USER_COMMANDS: Command[] = [orgShow, orgUpdate, userList, userShow];
