import { roleSchema } from '../domain/accounts.ts';
import { APPLICATION_TYPES, AUTH_METHODS, GRANTS } from '../domain/clients.ts';
import { APP_PASSWORD_POLICIES, type ClientRecord } from '../ports/stores.ts';
import { PROTOCOL_SCOPES } from '../ports/app-password-store.ts';
import { startServer } from '../server.ts';
import type { CliIo } from './io.ts';
import { UsageError } from './usage-error.ts';
import { list, pick, required, str, type Command } from './values.ts';
import { defaultCountryOption, ORG_AND_USER_COMMANDS, orgJson } from './directory-commands.ts';
import { PERSON_STATUS_COMMANDS } from './person-status-commands.ts';

export const USAGE = `twofold: an OpenID Connect identity provider with two-factor authentication

Usage: twofold <command> [options] [--json]

  serve                         run the server (what npm start runs); applies migrations first
  migrate                       apply database migrations
  org create <slug> [--name <display name>] [--enforce-tfa] [--trusted-browser-days <0-365>]
             [--password-min-length <8-64>] [--app-passwords tfa|everyone|none] [--legacy-password-access]
             [--default-country <GB|US|…>|none]
  org update <slug> [--enforce-tfa | --no-enforce-tfa] [--trusted-browser-days <0-365>] [--password-min-length <8-64>]
             [--tfa-grace-days <0-90>] [--allowed-methods <kind,…>|all] [--phishing-resistant none|admins|everyone]
             [--default-country <GB|US|…>|none]   # national phone numbers are read in this country
  org show <slug>
  user create --org <slug> --email <email> [--name <n>] [--phone <number>] [--role member|admin] --password-stdin
  user list --org <slug> [--search <text>] [--tfa enforced|own|off|grace|not_enrolled]
  user show --email <email>
  user reset-tfa --email <email> [--keep-app-passwords]
  user disable --email <email>  stop a person signing in and end their sessions and tokens
  user enable --email <email>   let a disabled person sign in again
  client add --id <client_id> [--name <n>] [--redirect-uri <uri>]... [--public] [--first-party] [--account-api] [--admin-api]
             [--grant authorization_code|refresh_token|password|client_credentials]...
             [--auth-method client_secret_basic|client_secret_post] [--post-logout-redirect-uri <uri>]...
             [--application-type web|native] [--introspection] [--forward-auth]
             [--scope imap|pop3|smtp|dav|activesync]...
  client list                   each client: name, web or native, confidential or public, what it may do
  setup-link                    print a one-time link that creates the first organization

--json prints one JSON object; errors exit non-zero with a message on stderr.
The CLI reads the same configuration as the server (config/default.json, TWOFOLD_CONFIG, environment).
`;

const serve: Command = {
  name: 'serve',
  usage: 'twofold serve: run the server; applies migrations first. Stop it with SIGTERM or Ctrl-C.',
  options: [],
  async run({ config, io }) {
    const running = await startServer(config);
    if (running.setupLink) {
      io.stdout.write(
        `\nNo organization exists yet. Create the first one here (one use, valid ${Math.round(config.setup.linkTtlSeconds / 60)} minutes):\n\n  ${running.setupLink}\n\n`,
      );
    }
    const signal = await new Promise<string>((resolve) => io.onShutdownSignal?.(resolve));
    running.app.logger.info({ signal }, 'shutting down');
    await running.stop();
    return { text: 'stopped', json: { stopped: true, signal } };
  },
};

const migrate: Command = {
  name: 'migrate',
  usage: 'twofold migrate: apply pending database migrations.',
  options: [],
  async run({ openApp }) {
    const app = await openApp({ migrate: false });
    const applied = await app.migrate();
    return {
      text: applied.length ? `applied: ${applied.join(', ')}` : 'the database is up to date',
      json: { applied },
    };
  },
};

const orgCreate: Command = {
  name: 'org create',
  usage:
    'twofold org create <slug> [--name <display name>] [--enforce-tfa] [--trusted-browser-days <0-365>] [--password-min-length <8-64>] [--app-passwords tfa|everyone|none] [--legacy-password-access] [--default-country <GB|US|…>|none]',
  options: [
    'name',
    'enforce-tfa',
    'trusted-browser-days',
    'password-min-length',
    'app-passwords',
    'legacy-password-access',
    'default-country',
  ],
  async run({ values, args, openApp }) {
    if (args.length !== 1) throw new UsageError('org create takes exactly one <slug>');
    const defaultCountry = defaultCountryOption(values);
    const days = str(values, 'trusted-browser-days');
    if (days !== undefined && !/^(\d{1,2}|[12]\d{2}|3[0-5]\d|36[0-5])$/.test(days)) {
      throw new UsageError('--trusted-browser-days must be a whole number from 0 (never trust a browser) to 365');
    }
    const minLength = str(values, 'password-min-length');
    if (
      minLength !== undefined &&
      !(/^\d{1,2}$/.test(minLength) && Number(minLength) >= 8 && Number(minLength) <= 64)
    ) {
      throw new UsageError(
        '--password-min-length must be a whole number from 8 to 64 (NIST SP 800-63B: at least 8, and 15 where the password may be the only factor)',
      );
    }
    const appPasswords = str(values, 'app-passwords');
    const app = await openApp();
    const org = await app.services.organizations.createOrganization({
      slug: args[0]!,
      ...(appPasswords !== undefined
        ? { appPasswords: pick(appPasswords, APP_PASSWORD_POLICIES, 'app-passwords') }
        : {}),
      legacyPasswordAccess: values['legacy-password-access'] === true,
      ...(minLength !== undefined ? { passwordMinLength: Number(minLength) } : {}),
      name: str(values, 'name'),
      enforceTfa: values['enforce-tfa'] === true,
      ...(days !== undefined ? { trustedBrowserDays: Number(days) } : {}),
      defaultCountry,
    });
    return {
      text: `created organization ${org.slug} (${org.name})${org.enforceTfa ? ', TFA enforced' : ''}`,
      json: orgJson(org),
    };
  },
};

/** Passwords never travel in argv (visible in ps and shell history): only on stdin. */
async function readPassword(io: CliIo): Promise<string> {
  const text = await io.readStdin();
  const password = text.replace(/\r?\n$/, '');
  if (!password) throw new UsageError('no password on stdin');
  if (password.includes('\n')) throw new UsageError('the password on stdin must be a single line');
  return password;
}

const userCreate: Command = {
  name: 'user create',
  usage:
    "twofold user create --org <slug> --email <email> [--name <n>] [--phone <number>] [--role member|admin] --password-stdin: --phone in international format (+44 20 7946 0018), or national in the organization's default country; stored in E.164.",
  options: ['org', 'email', 'name', 'phone', 'role', 'password-stdin'],
  async run({ values, args, io, openApp }) {
    if (args.length > 0) throw new UsageError(`unexpected argument "${args[0]}"`);
    const slug = required(values, 'org');
    const email = required(values, 'email');
    const role = pick(str(values, 'role') ?? 'member', roleSchema.options, 'role');
    if (values['password-stdin'] !== true)
      throw new UsageError('--password-stdin is required (the password is read from standard input)');
    const password = await readPassword(io);
    const app = await openApp();
    const org = await app.services.organizations.requireOrganization(slug);
    const user = await app.services.accounts.createUser(org, {
      email,
      name: str(values, 'name'),
      phone: str(values, 'phone'),
      role,
      password,
    });
    return {
      text: `created ${user.role} ${user.email} in ${org.slug}`,
      json: { id: user.id, email: user.email, org: org.slug, role: user.role, name: user.name, phone: user.phone },
    };
  },
};

const userResetTfa: Command = {
  name: 'user reset-tfa',
  usage:
    'twofold user reset-tfa --email <email> [--keep-app-passwords]: remove every second factor of a person (after a lost device), and their app passwords unless kept.',
  options: ['email', 'keep-app-passwords'],
  async run({ values, openApp }) {
    const email = required(values, 'email');
    const app = await openApp();
    const found = await app.stores.users.findUserByEmail(email);
    if (!found) throw new UsageError(`there is no user with email ${email}`);
    const person = { orgId: found.organization.id, userId: found.user.id, email: found.user.email };
    const keepAppPasswords = values['keep-app-passwords'] === true;
    const removed = await app.services.tfaReset.resetTfa(person, { actor: 'cli' }, { keepAppPasswords });
    const text = removed
      ? `removed ${removed} second factor${removed === 1 ? '' : 's'} of ${found.user.email}`
      : `${found.user.email} has no second factor to reset`;
    return { text, json: { email: found.user.email, removed } };
  },
};

const clientAdd: Command = {
  name: 'client add',
  usage:
    'twofold client add --id <client_id> [--name <n>] [--redirect-uri <uri>]... [--public] [--first-party] [--account-api] [--admin-api] [--grant authorization_code|refresh_token|password|client_credentials]... [--auth-method client_secret_basic|client_secret_post] [--post-logout-redirect-uri <uri>]... [--application-type web|native] [--introspection] [--forward-auth] [--scope imap|pop3|smtp|dav|activesync]...',
  options: [
    'id',
    'name',
    'redirect-uri',
    'public',
    'first-party',
    'account-api',
    'admin-api',
    'grant',
    'auth-method',
    'post-logout-redirect-uri',
    'application-type',
    'introspection',
    'forward-auth',
    'scope',
  ],
  async run({ values, openApp }) {
    const grants = list(values, 'grant').map((g) => pick(g, GRANTS, 'grant'));
    const authMethod = str(values, 'auth-method');
    const applicationType = str(values, 'application-type');
    const app = await openApp();
    const { record, secret } = await app.services.clients.registerClient({
      clientId: required(values, 'id'),
      name: str(values, 'name'),
      redirectUris: list(values, 'redirect-uri'),
      postLogoutRedirectUris: list(values, 'post-logout-redirect-uri'),
      public: values.public === true,
      firstParty: values['first-party'] === true,
      accountApi: values['account-api'] === true,
      adminApi: values['admin-api'] === true,
      introspection: values.introspection === true,
      forwardAuth: values['forward-auth'] === true,
      scopes: list(values, 'scope')
        .flatMap((s) => s.split(/[\s,]+/))
        .filter(Boolean)
        .map((s) => pick(s, PROTOCOL_SCOPES, 'scope')),
      grants,
      authMethod: authMethod ? pick(authMethod, AUTH_METHODS, 'auth-method') : undefined,
      applicationType: applicationType ? pick(applicationType, APPLICATION_TYPES, 'application-type') : undefined,
    });
    const lines = [`registered client ${record.clientId}`];
    if (secret) lines.push(`client secret (shown once, store it now): ${secret}`);
    return {
      text: lines.join('\n'),
      json: {
        clientId: record.clientId,
        clientSecret: secret,
        ...record.metadata,
        firstParty: record.firstParty,
        accountApi: record.accountApi,
        adminApi: record.adminApi,
        introspection: record.introspection,
        forwardAuth: record.forwardAuth,
      },
    };
  },
};

/** A client as the operator reads it: who it is, what kind of app, and what it may do; never its secret. */
function describeClient(c: ClientRecord) {
  const metadata = c.metadata as { application_type?: string; grant_types?: string[]; redirect_uris?: string[] };
  return {
    clientId: c.clientId,
    name: c.name,
    applicationType: metadata.application_type ?? 'web',
    confidential: c.sealedSecret !== null,
    firstParty: c.firstParty,
    accountApi: c.accountApi,
    adminApi: c.adminApi,
    introspection: c.introspection,
    forwardAuth: c.forwardAuth,
    grantTypes: metadata.grant_types ?? [],
    redirectUris: metadata.redirect_uris ?? [],
  };
}

function clientLine(c: ReturnType<typeof describeClient>): string {
  const flags = (
    [
      [c.firstParty, 'first-party'],
      [c.accountApi, 'account-api'],
      [c.adminApi, 'admin-api'],
      [c.introspection, 'introspection'],
      [c.forwardAuth, 'forward-auth'],
    ] as const
  )
    .filter(([on]) => on)
    .map(([, flag]) => flag);
  return [
    c.clientId,
    c.name ?? c.clientId,
    c.applicationType,
    c.confidential ? 'confidential' : 'public',
    flags.join(',') || '-',
    c.grantTypes.join(','),
    c.redirectUris.join(' '),
  ].join('\t');
}

const clientList: Command = {
  name: 'client list',
  usage:
    'twofold client list: one line per client, tab-separated: id, name, web|native, confidential|public, flags (first-party, account-api, admin-api, introspection, forward-auth), grants, redirect URIs.',
  options: [],
  async run({ openApp }) {
    const app = await openApp();
    const clients = (await app.services.clients.listClients()).map(describeClient);
    const text = clients.length ? clients.map(clientLine).join('\n') : 'no clients registered';
    return { text, json: { clients } };
  },
};

const setupLink: Command = {
  name: 'setup-link',
  usage: 'twofold setup-link: print a one-time link that creates the first organization (only while none exists).',
  options: [],
  async run({ openApp, config }) {
    const app = await openApp();
    const link = await app.services.setup.issueSetupLink();
    if (!link) throw new UsageError('an organization already exists; use "twofold org create" for more');
    return { text: link, json: { setupLink: link, expiresInSeconds: config.setup.linkTtlSeconds } };
  },
};

export const COMMANDS: Command[] = [
  serve,
  migrate,
  orgCreate,
  userCreate,
  userResetTfa,
  ...ORG_AND_USER_COMMANDS,
  ...PERSON_STATUS_COMMANDS,
  clientAdd,
  clientList,
  setupLink,
];
