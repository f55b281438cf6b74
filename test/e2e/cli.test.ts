import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

import { runCli } from '../../src/cli/run.ts';
import { inProcessCli } from '../helpers/cli.ts';
import { enrolTotp } from '../helpers/seed.ts';

const run = promisify(execFile);

describe('the twofold CLI', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'twofold-cli-'));
  const twofold = inProcessCli(dataDir);
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('prints usage for --help and no command', async () => {
    expect((await twofold(['--help'])).stdout).toContain('twofold <command>');
    expect((await twofold([])).stdout).toContain('user create --org <slug>');
    expect((await twofold(['client', 'add', '--help'])).stdout).toContain('--redirect-uri');
  });

  it('migrates, then reports the database up to date', async () => {
    expect((await twofold(['migrate', '--json'])).json()).toEqual({
      applied: [
        '0001-initial',
        '0002-second-factors',
        '0003-sessions-by-account',
        '0004-account-api-clients',
        '0005-app-passwords',
        '0006-emails-compared-nfkc',
        '0007-admin-console',
        '0012-enforcement-start',
      ],
    });
    expect((await twofold(['migrate', '--json'])).json()).toEqual({ applied: [] });
    expect(statSync(path.join(dataDir, 'secrets.json')).mode & 0o777).toBe(0o600);
  });

  it('prints a setup link while no organization exists', async () => {
    const result = await twofold(['setup-link', '--json']);
    expect(result.code).toBe(0);
    expect(result.json().setupLink).toMatch(/^http:\/\/localhost:3000\/setup\?token=[A-Za-z0-9_-]{43}$/);
  });

  it('creates an organization, then refuses a duplicate or malformed slug', async () => {
    const created = await twofold(['org', 'create', 'acme', '--name', 'Acme Corp', '--enforce-tfa', '--json']);
    expect(created.json()).toMatchObject({ slug: 'acme', name: 'Acme Corp', enforceTfa: true });
    const duplicate = await twofold(['org', 'create', 'acme']);
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toContain('already exists');
    const bad = await twofold(['org', 'create', 'Not A Slug', '--json']);
    expect(bad.code).toBe(1);
    expect(bad.json().error).toContain('lowercase letters');
    expect((await twofold(['setup-link'])).code).toBe(1);
    expect((await twofold(['org', 'create', 'kiosk', '--trusted-browser-days', '0', '--json'])).json()).toMatchObject({
      trustedBrowserDays: 0,
    });
    const badDays = await twofold(['org', 'create', 'other', '--trusted-browser-days', '999']);
    expect(badDays.code).toBe(1);
    expect(badDays.stderr).toContain('from 0 (never trust a browser) to 365');
    expect((await twofold(['org', 'create', 'strict', '--password-min-length', '20', '--json'])).json()).toMatchObject({
      passwordMinLength: 20,
    });
    const shortPassword = await twofold(
      ['user', 'create', '--org', 'strict', '--email', 's@example.com', '--password-stdin'],
      'seventeen chars!!',
    );
    expect(shortPassword.stderr).toContain('at least 20 characters');
    expect((await twofold(['org', 'create', 'lax', '--password-min-length', '6'])).code).toBe(1);
  });

  it('creates a user with the password from stdin only', async () => {
    const created = await twofold(
      [
        'user',
        'create',
        '--org',
        'acme',
        '--email',
        'Bob@Example.com',
        '--name',
        'Bob',
        '--phone',
        '+14155550123',
        '--role',
        'admin',
        '--password-stdin',
        '--json',
      ],
      'a perfectly fine passphrase\n',
    );
    expect(created.code).toBe(0);
    expect(created.json()).toMatchObject({
      email: 'Bob@Example.com',
      org: 'acme',
      role: 'admin',
      phone: '+14155550123',
    });
    expect(created.stdout).not.toContain('passphrase');

    const noFlag = await twofold(
      ['user', 'create', '--org', 'acme', '--email', 'c@example.com'],
      'a perfectly fine passphrase',
    );
    expect(noFlag.code).toBe(1);
    expect(noFlag.stderr).toContain('--password-stdin is required');
  });

  it('refuses bad user input with a message per field, writing nothing', async () => {
    const cases: [string[], string, RegExp][] = [
      [['--org', 'nope', '--email', 'd@example.com'], 'a perfectly fine passphrase', /no organization "nope"/],
      [['--org', 'acme', '--email', 'not-an-email'], 'a perfectly fine passphrase', /email address like/],
      [
        ['--org', 'acme', '--email', 'd@example.com', '--phone', '0123'],
        'a perfectly fine passphrase',
        /international format/,
      ],
      [
        ['--org', 'acme', '--email', 'd@example.com', '--role', 'root'],
        'a perfectly fine passphrase',
        /--role must be one of member, admin/,
      ],
      [['--org', 'acme', '--email', 'd@example.com'], 'short', /at least 8 characters/],
      [['--org', 'acme', '--email', 'd@example.com'], '', /no password on stdin/],
      [['--org', 'acme', '--email', 'd@example.com'], 'two\nlines', /single line/],
      [['--org', 'acme', '--email', 'BOB@example.com'], 'a perfectly fine passphrase', /already exists/],
    ];
    for (const [args, stdin, message] of cases) {
      const result = await twofold(['user', 'create', ...args, '--password-stdin'], stdin);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr).toMatch(message);
    }
    const { createApp } = await import('../../src/app.ts');
    const { loadConfig } = await import('../../src/config/load.ts');
    const app = await createApp(
      loadConfig({ env: { TWOFOLD_DATA_DIR: dataDir, LOG_LEVEL: 'silent' }, cwd: process.cwd() }),
    );
    expect(await app.stores.users.findUserByEmail('d@example.com')).toBeUndefined();
    await app.close();
  });

  it("resets a person's second factors after a lost device, and refuses an unknown email", async () => {
    const { createApp } = await import('../../src/app.ts');
    const { loadConfig } = await import('../../src/config/load.ts');
    const app = await createApp(
      loadConfig({ env: { TWOFOLD_DATA_DIR: dataDir, LOG_LEVEL: 'silent' }, cwd: process.cwd() }),
    );
    const found = (await app.stores.users.findUserByEmail('bob@example.com'))!;
    const person = { orgId: found.organization.id, userId: found.user.id, email: found.user.email };
    await enrolTotp(app, { org: found.organization, user: found.user }, Date.now(), 'Phone', { recoveryCodes: true });
    const reset = await twofold(['user', 'reset-tfa', '--email', 'BOB@example.com', '--json']);
    expect(reset.json()).toEqual({ email: 'Bob@Example.com', removed: 1 });
    expect(await app.factors.store.findFactors(person.orgId, person.userId)).toEqual([]);
    expect(await app.factors.recovery.remaining(person)).toBe(0);
    await app.close();
    const unknown = await twofold(['user', 'reset-tfa', '--email', 'nobody@example.com']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no user with email');
  });

  it('registers clients, printing a confidential secret once, and lists them', async () => {
    const web = await twofold([
      'client',
      'add',
      '--id',
      'mail',
      '--name',
      'Webmail',
      '--redirect-uri',
      'https://mail.example/cb',
      '--auth-method',
      'client_secret_post',
      '--json',
    ]);
    expect(web.code).toBe(0);
    expect(web.json()).toMatchObject({
      clientId: 'mail',
      token_endpoint_auth_method: 'client_secret_post',
      application_type: 'web',
    });
    expect(String(web.json().clientSecret)).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const native = await twofold([
      'client',
      'add',
      '--id',
      'phone-app',
      '--public',
      '--redirect-uri',
      'http://127.0.0.1/callback',
      '--redirect-uri',
      'com.example.app:/oauth',
      '--json',
    ]);
    expect(native.json()).toMatchObject({
      clientSecret: null,
      application_type: 'native',
      token_endpoint_auth_method: 'none',
    });

    const listed = (await twofold(['client', 'list', '--json'])).json().clients as {
      clientId: string;
      confidential: boolean;
    }[];
    expect(listed.map((c) => [c.clientId, c.confidential])).toEqual([
      ['mail', true],
      ['phone-app', false],
    ]);
    expect(JSON.stringify(listed)).not.toContain(String(web.json().clientSecret));
  });

  it('refuses bad client input with a clear message', async () => {
    const cases: [string[], RegExp][] = [
      [['--redirect-uri', 'https://x.example/cb'], /--id is required/],
      [['--id', 'bad id', '--redirect-uri', 'https://x.example/cb'], /clientId/],
      [['--id', 'x1', '--redirect-uri', 'http://evil.example/cb'], /must use https/],
      [['--id', 'x2', '--redirect-uri', 'https://x.example/cb#frag'], /fragment/],
      [['--id', 'x3'], /needs at least one --redirect-uri/],
      [['--id', 'x4', '--redirect-uri', 'https://x.example/cb', '--grant', 'implicit'], /--grant must be one of/],
      [
        ['--id', 'x5', '--redirect-uri', 'https://x.example/cb', '--auth-method', 'none'],
        /--auth-method must be one of/,
      ],
      [['--id', 'x6', '--public', '--grant', 'password'], /confidential client/],
      [['--id', 'mail', '--redirect-uri', 'https://x.example/cb'], /already exists/],
    ];
    for (const [args, message] of cases) {
      const result = await twofold(['client', 'add', ...args]);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr).toMatch(message);
    }
  });

  it('rejects unknown commands and options with exit code 2', async () => {
    const unknown = await twofold(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command');
    const option = await twofold(['org', 'create', 'x', '--bogus']);
    expect(option.code).toBe(2);
    const misplaced = await twofold(['client', 'list', '--email', 'x@example.com']);
    expect(misplaced.code).toBe(2);
    expect(misplaced.stderr).toContain('does not take --email');
  });

  it('stops on invalid configuration with a message naming the key', async () => {
    const result = await runCli(['client', 'list'], {
      env: { TWOFOLD_DATA_DIR: dataDir, PORT: 'eighty' },
      cwd: () => process.cwd(),
      stdout: { write: () => true },
      stderr: { write: (text: string) => expect(text).toContain('PORT') },
      readStdin: async () => '',
    });
    expect(result).toBe(1);
  });

  it('runs as the package bin through npx', async () => {
    const { stdout } = await run('npx', ['--no-install', 'twofold', 'client', 'list', '--json'], {
      env: { ...process.env, TWOFOLD_DATA_DIR: dataDir },
    });
    expect(JSON.parse(stdout).clients).toHaveLength(2);
  });
});
