import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { ConfigError, loadConfig } from '../../../src/config/load.ts';

type Env = Record<string, string | undefined>;

const CWD = path.join(os.tmpdir(), 'twofold-cwd');
const tempDir = mkdtempSync(path.join(os.tmpdir(), 'twofold-config-'));
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

const load = (env: Env = {}) => loadConfig({ env, cwd: CWD });

let fileCount = 0;
/** Writes an extra config file and returns its absolute path. */
function configFile(contents: unknown): string {
  const file = path.join(tempDir, `extra-${++fileCount}.json`);
  writeFileSync(file, typeof contents === 'string' ? contents : JSON.stringify(contents));
  return file;
}

/** Runs `fn`, expects a ConfigError, and returns it for message checks. */
function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, but loading succeeded');
}

const smtp = { driver: 'smtp', from: 'Twofold <security@example.com>', smtp: { url: 'smtp://mail.example.com:587' } };
/** What production needs besides an https issuer: a webhook for codes and SMTP for email. */
const webhook = {
  delivery: { driver: 'webhook', webhook: { url: 'https://hooks.example.com/sms', secret: 's'.repeat(16) } },
  mail: smtp,
};

describe('loadConfig defaults', () => {
  it('loads the documented defaults with no environment', () => {
    const config = load();
    expect(config.environment).toBe('development');
    expect(config.port).toBe(3000);
    expect(config.logLevel).toBe('info');
    expect(config.database.url).toBeNull();
    expect(config.redis.url).toBeNull();
    expect(config.delivery.driver).toBe('outbox');
    expect(config.mail).toMatchObject({ driver: 'outbox', from: null, smtp: { url: null, requireTls: true } });
    expect(config.passwords.minLength).toBe(15);
    expect(config.throttle.account.freeAttempts).toBe(5);
  });

  it('derives the issuer from the port when none is configured', () => {
    expect(load().issuer).toBe('http://localhost:3000');
    expect(load({ PORT: '4010' }).issuer).toBe('http://localhost:4010');
  });

  it('resolves the data directory to an absolute path against cwd', () => {
    expect(load().dataDir).toBe(path.join(CWD, 'data'));
    expect(path.isAbsolute(load().dataDir)).toBe(true);
  });

  it('drops the "//" documentation entries', () => {
    expect(Object.keys(load()).some((key) => key.startsWith('//'))).toBe(false);
    expect(Object.keys(load().throttle)).toEqual(['account', 'ip']);
  });
});

describe('loadConfig environment overrides', () => {
  it('reads PORT, TWOFOLD_ISSUER, DATABASE_URL, REDIS_URL and LOG_LEVEL', () => {
    const config = load({
      PORT: '8443',
      TWOFOLD_ISSUER: 'https://id.example.com/',
      DATABASE_URL: 'postgres://twofold@db:5432/twofold',
      REDIS_URL: 'rediss://cache.example.com:6380',
      LOG_LEVEL: 'debug',
    });
    expect(config.port).toBe(8443);
    expect(config.issuer).toBe('https://id.example.com');
    expect(config.database.url).toBe('postgres://twofold@db:5432/twofold');
    expect(config.redis.url).toBe('rediss://cache.example.com:6380');
    expect(config.logLevel).toBe('debug');
  });

  it('keeps an absolute TWOFOLD_DATA_DIR and resolves a relative one against cwd', () => {
    expect(load({ TWOFOLD_DATA_DIR: '/var/lib/twofold' }).dataDir).toBe('/var/lib/twofold');
    expect(load({ TWOFOLD_DATA_DIR: 'state/tf' }).dataDir).toBe(path.join(CWD, 'state/tf'));
  });

  it('ignores empty variables', () => {
    expect(load({ PORT: '', TWOFOLD_ISSUER: '', LOG_LEVEL: '' })).toEqual(load());
  });

  it('selects production only for NODE_ENV=production', () => {
    expect(load({ NODE_ENV: 'test' }).environment).toBe('development');
    const config = load({
      NODE_ENV: 'production',
      TWOFOLD_ISSUER: 'https://id.example.com',
      TWOFOLD_CONFIG: configFile(webhook),
    });
    expect(config.environment).toBe('production');
  });

  it('reads TWOFOLD_DELIVERY', () => {
    const file = configFile({ delivery: { webhook: webhook.delivery.webhook } });
    expect(load({ TWOFOLD_DELIVERY: 'webhook', TWOFOLD_CONFIG: file }).delivery.driver).toBe('webhook');
  });
});

describe('loadConfig extra file (TWOFOLD_CONFIG)', () => {
  it('merges objects key by key over the defaults', () => {
    const config = load({ TWOFOLD_CONFIG: configFile({ port: 8080, throttle: { account: { freeAttempts: 3 } } }) });
    expect(config.port).toBe(8080);
    expect(config.throttle.account).toEqual({ freeAttempts: 3, windowSeconds: 900, maxDelaySeconds: 900 });
    expect(config.throttle.ip.freeAttempts).toBe(50);
  });

  it('lets the environment override the file', () => {
    expect(load({ PORT: '9000', TWOFOLD_CONFIG: configFile({ port: 8080 }) }).port).toBe(9000);
  });

  it('resolves a relative path against cwd', () => {
    const file = configFile({ logLevel: 'warn' });
    const config = loadConfig({ env: { TWOFOLD_CONFIG: path.basename(file) }, cwd: tempDir });
    expect(config.logLevel).toBe('warn');
  });

  it('strips "//" documentation keys at every level', () => {
    const file = configFile({
      '//': 'site config',
      '//port': 'behind the proxy',
      port: 81,
      throttle: { '//ip': 'office NAT', ip: { freeAttempts: 200 } },
    });
    const config = load({ TWOFOLD_CONFIG: file });
    expect(config.port).toBe(81);
    expect(config.throttle.ip.freeAttempts).toBe(200);
  });

  it('replaces arrays instead of merging them', () => {
    const keys = ['a'.repeat(32), 'b'.repeat(32)];
    const config = load({ TWOFOLD_CONFIG: configFile({ secrets: { cookieKeys: keys } }) });
    expect(config.secrets.cookieKeys).toEqual(keys);
  });
});

describe('loadConfig refuses bad values, naming the key', () => {
  it('PORT that is not a whole number', () => {
    expect(configErrorOf(() => load({ PORT: 'abc' })).message).toMatch(/PORT.*abc/);
    expect(configErrorOf(() => load({ PORT: '-1' })).message).toContain('PORT');
  });

  it('a port out of range', () => {
    expect(configErrorOf(() => load({ PORT: '70000' })).message).toMatch(/\bport\b/);
  });

  it('an issuer with a query or fragment', () => {
    expect(configErrorOf(() => load({ TWOFOLD_ISSUER: 'https://id.example.com/?tenant=a' })).message).toMatch(
      /issuer.*query/,
    );
    expect(configErrorOf(() => load({ TWOFOLD_ISSUER: 'https://id.example.com/#x' })).message).toContain('issuer');
  });

  it('an issuer that is not an http(s) URL', () => {
    expect(configErrorOf(() => load({ TWOFOLD_ISSUER: 'id.example.com' })).message).toContain('issuer');
  });

  it('a DATABASE_URL that is not PostgreSQL', () => {
    expect(configErrorOf(() => load({ DATABASE_URL: 'mysql://x' })).message).toContain('database.url');
  });

  it('a REDIS_URL that is not Redis', () => {
    expect(configErrorOf(() => load({ REDIS_URL: 'http://cache' })).message).toContain('redis.url');
  });

  it('a pool size or a store timeout out of range (an outage must still answer within seconds)', () => {
    const extra = (contents: unknown) => load({ TWOFOLD_CONFIG: configFile(contents) });
    expect(configErrorOf(() => extra({ database: { poolSize: 0 } })).message).toContain('database.poolSize');
    expect(configErrorOf(() => extra({ database: { queryTimeoutMs: 600_000 } })).message).toContain(
      'database.queryTimeoutMs',
    );
    expect(configErrorOf(() => extra({ redis: { commandTimeoutMs: 0 } })).message).toContain('redis.commandTimeoutMs');
    const tuned = extra({ database: { poolSize: 40 }, redis: { commandTimeoutMs: 1500 } });
    expect([tuned.database.poolSize, tuned.database.queryTimeoutMs, tuned.redis.commandTimeoutMs]).toEqual([
      40, 5000, 1500,
    ]);
  });

  it('an unknown LOG_LEVEL or TWOFOLD_DELIVERY', () => {
    expect(configErrorOf(() => load({ LOG_LEVEL: 'loud' })).message).toContain('logLevel');
    expect(configErrorOf(() => load({ TWOFOLD_DELIVERY: 'pigeon' })).message).toContain('delivery.driver');
  });

  it('an unknown key in the extra file, top-level or nested', () => {
    expect(configErrorOf(() => load({ TWOFOLD_CONFIG: configFile({ colour: 'blue' }) })).message).toContain('"colour"');
    const nested = configErrorOf(() => load({ TWOFOLD_CONFIG: configFile({ throttle: { acount: {} } }) }));
    expect(nested.message).toMatch(/throttle.*"acount"/);
  });

  it('a value of the wrong type in the extra file', () => {
    expect(
      configErrorOf(() => load({ TWOFOLD_CONFIG: configFile({ passwords: { minLength: '15' } }) })).message,
    ).toContain('passwords.minLength');
  });

  it('a malformed JSON file, naming the file', () => {
    const file = configFile('{ "port": 80, }');
    expect(configErrorOf(() => load({ TWOFOLD_CONFIG: file })).message).toMatch(/not valid JSON/);
    expect(configErrorOf(() => load({ TWOFOLD_CONFIG: file })).message).toContain(file);
  });

  it('a file that does not hold an object', () => {
    expect(configErrorOf(() => load({ TWOFOLD_CONFIG: configFile('[1, 2]') })).message).toMatch(/JSON object/);
  });

  it('a missing file, naming the file', () => {
    const missing = path.join(tempDir, 'nope.json');
    expect(configErrorOf(() => load({ TWOFOLD_CONFIG: missing })).message).toContain(missing);
  });
});

describe('loadConfig production safety', () => {
  const production = { NODE_ENV: 'production', TWOFOLD_ISSUER: 'https://id.example.com' };

  it('refuses the outbox delivery driver', () => {
    expect(configErrorOf(() => load(production)).message).toMatch(/delivery\.driver.*outbox/);
  });

  it('refuses the outbox mail driver', () => {
    const codesOnly = configFile({ delivery: webhook.delivery });
    expect(configErrorOf(() => load({ ...production, TWOFOLD_CONFIG: codesOnly })).message).toMatch(
      /mail\.driver.*outbox.*smtp/,
    );
  });

  it('refuses mail without TLS except to a relay on the same host', () => {
    const plain = (url: string) => configFile({ ...webhook, mail: { ...smtp, smtp: { url, requireTls: false } } });
    const error = configErrorOf(() => load({ ...production, TWOFOLD_CONFIG: plain('smtp://mail.example.com:25') }));
    expect(error.message).toMatch(/mail\.smtp\.requireTls/);
    for (const url of ['smtp://localhost:25', 'smtp://127.0.0.1:25', 'smtp://[::1]:25'])
      expect(load({ ...production, TWOFOLD_CONFIG: plain(url) }).mail.smtp.requireTls).toBe(false);
  });

  it('refuses an http issuer on a host other than localhost', () => {
    const error = configErrorOf(() =>
      load({ ...production, TWOFOLD_ISSUER: 'http://id.example.com', TWOFOLD_CONFIG: configFile(webhook) }),
    );
    expect(error.message).toMatch(/issuer.*https/);
  });

  it('accepts an https issuer with the webhook driver', () => {
    expect(load({ ...production, TWOFOLD_CONFIG: configFile(webhook) }).issuer).toBe('https://id.example.com');
  });

  it('accepts http on localhost', () => {
    expect(load({ NODE_ENV: 'production', TWOFOLD_CONFIG: configFile(webhook) }).issuer).toBe('http://localhost:3000');
  });
});

describe('loadConfig webhook delivery', () => {
  it('needs both url and secret', () => {
    expect(configErrorOf(() => load({ TWOFOLD_DELIVERY: 'webhook' })).message).toContain('delivery.webhook');
    const urlOnly = configFile({ delivery: { webhook: { url: 'https://hooks.example.com/sms' } } });
    expect(configErrorOf(() => load({ TWOFOLD_DELIVERY: 'webhook', TWOFOLD_CONFIG: urlOnly })).message).toMatch(
      /url and secret/,
    );
    const secretOnly = configFile({ delivery: { webhook: { secret: 's'.repeat(16) } } });
    expect(configErrorOf(() => load({ TWOFOLD_DELIVERY: 'webhook', TWOFOLD_CONFIG: secretOnly })).message).toMatch(
      /url and secret/,
    );
  });

  it('refuses a secret shorter than 16 characters', () => {
    const file = configFile({
      delivery: { driver: 'webhook', webhook: { url: 'https://hooks.example.com/sms', secret: 'short' } },
    });
    expect(configErrorOf(() => load({ TWOFOLD_CONFIG: file })).message).toContain('delivery.webhook.secret');
  });
});

describe('loadConfig mail', () => {
  it('needs both the SMTP URL and the from-address for the smtp driver', () => {
    expect(configErrorOf(() => load({ TWOFOLD_MAIL: 'smtp' })).message).toMatch(
      /mail: .*smtp\.url \(SMTP_URL\) and from/,
    );
    expect(configErrorOf(() => load({ TWOFOLD_MAIL: 'smtp', SMTP_URL: 'smtp://mail.example.com' })).message).toMatch(
      /and from/,
    );
    expect(
      configErrorOf(() => load({ TWOFOLD_MAIL: 'smtp', TWOFOLD_MAIL_FROM: 'security@example.com' })).message,
    ).toMatch(/smtp\.url/);
  });

  it('reads TWOFOLD_MAIL, SMTP_URL and TWOFOLD_MAIL_FROM', () => {
    const config = load({
      TWOFOLD_MAIL: 'smtp',
      SMTP_URL: 'smtps://twofold:secret@mail.example.com:465',
      TWOFOLD_MAIL_FROM: 'Acme sign-in <security@acme.example>',
    });
    expect(config.mail).toMatchObject({
      driver: 'smtp',
      from: 'Acme sign-in <security@acme.example>',
      smtp: { url: 'smtps://twofold:secret@mail.example.com:465', requireTls: true },
    });
  });

  it.each(['http://mail.example.com', 'mail.example.com:587', 'redis://mail.example.com'])(
    'refuses the SMTP URL %s, naming the key and not the value',
    (url) => {
      const error = configErrorOf(() => load({ SMTP_URL: url }));
      expect(error.message).toContain('mail.smtp.url');
      expect(error.message).not.toContain(url);
    },
  );

  it.each(['security@example.com\r\nBcc: everyone@example.com', 'Twofold', 'Twofold <not an address>', ''])(
    'refuses the from-address %j (one line, with an address)',
    (from) => {
      expect(configErrorOf(() => load({ TWOFOLD_CONFIG: configFile({ mail: { from } }) })).message).toContain(
        'mail.from',
      );
    },
  );

  it.each([
    ['connectionTimeoutMs', 0],
    ['greetingTimeoutMs', 600_000],
    ['socketTimeoutMs', 1.5],
  ])('bounds %s (refuses %d)', (key, value) => {
    const file = configFile({ mail: { smtp: { [key]: value } } });
    expect(configErrorOf(() => load({ TWOFOLD_CONFIG: file })).message).toContain(`mail.smtp.${key}`);
  });
});
