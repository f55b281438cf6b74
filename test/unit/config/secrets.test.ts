import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ConfigError, loadConfig, type Config } from '../../../src/config/load.ts';
import { loadSecrets } from '../../../src/config/secrets.ts';

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'twofold-secrets-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Configuration for `dataDir`, with `secrets` set through a TWOFOLD_CONFIG file as an operator would. */
function configFor(dataDir: string, secrets: Partial<Config['secrets']> = {}): Config {
  const file = path.join(root, 'twofold.json');
  writeFileSync(file, JSON.stringify({ secrets }));
  return loadConfig({ env: { TWOFOLD_DATA_DIR: dataDir, TWOFOLD_CONFIG: file }, cwd: root });
}

const secretsFile = (dataDir: string) => path.join(dataDir, 'secrets.json');

describe('loadSecrets generates <dataDir>/secrets.json', () => {
  it('creates the file (and its directory) readable by the owner only', () => {
    const dataDir = path.join(root, 'data');
    loadSecrets(configFor(dataDir));
    expect(statSync(secretsFile(dataDir)).mode & 0o777).toBe(0o600);
    expect(statSync(dataDir).mode & 0o077).toBe(0);
  });

  it('generates an RS256 and an ES256 private signing key with distinct kids', () => {
    const { jwks } = loadSecrets(configFor(path.join(root, 'data')));
    expect(jwks.keys.map((key) => [key.kty, key.alg, key.use])).toEqual([
      ['RSA', 'RS256', 'sig'],
      ['EC', 'ES256', 'sig'],
    ]);
    expect(jwks.keys.every((key) => typeof key.d === 'string')).toBe(true);
    const kids = jwks.keys.map((key) => key.kid);
    expect(kids.every((kid) => typeof kid === 'string' && kid.length > 0)).toBe(true);
    expect(new Set(kids).size).toBe(2);
  });

  it('generates a 32-byte encryption key, a cookie key and a pepper of 32+ characters', () => {
    const secrets = loadSecrets(configFor(path.join(root, 'data')));
    expect(secrets.encryptionKey).toHaveLength(32);
    expect(secrets.cookieKeys).toHaveLength(1);
    expect(secrets.cookieKeys[0]!.length).toBeGreaterThanOrEqual(32);
    expect(secrets.hmacPepper.length).toBeGreaterThanOrEqual(32);
  });

  it('generates once: a second load returns identical secrets and leaves the file alone', () => {
    const config = configFor(path.join(root, 'data'));
    const first = loadSecrets(config);
    const text = readFileSync(secretsFile(config.dataDir), 'utf8');
    const second = loadSecrets(config);
    expect(second).toEqual(first);
    expect(readFileSync(secretsFile(config.dataDir), 'utf8')).toBe(text);
  });

  it('gives two data directories different secrets', () => {
    const a = loadSecrets(configFor(path.join(root, 'a')));
    const b = loadSecrets(configFor(path.join(root, 'b')));
    expect(a.hmacPepper).not.toBe(b.hmacPepper);
    expect(a.encryptionKey.equals(b.encryptionKey)).toBe(false);
    expect(a.jwks.keys[0]!.kid).not.toBe(b.jwks.keys[0]!.kid);
  });

  it('leaves no temporary files behind', () => {
    const dataDir = path.join(root, 'data');
    loadSecrets(configFor(dataDir));
    loadSecrets(configFor(dataDir));
    expect(readdirSync(dataDir)).toEqual(['secrets.json']);
  });
});

describe('loadSecrets with configured secrets', () => {
  const encryptionKey = Buffer.alloc(32, 7).toString('base64url');
  const hmacPepper = 'p'.repeat(40);

  it('prefers configured values and takes the rest from the file', () => {
    const dataDir = path.join(root, 'data');
    const generated = loadSecrets(configFor(dataDir));
    const secrets = loadSecrets(configFor(dataDir, { encryptionKey, hmacPepper }));
    expect(secrets.encryptionKey.equals(Buffer.alloc(32, 7))).toBe(true);
    expect(secrets.hmacPepper).toBe(hmacPepper);
    expect(secrets.jwks).toEqual(generated.jwks);
    expect(secrets.cookieKeys).toEqual(generated.cookieKeys);
  });

  it('writes no file when every secret is configured', () => {
    const dataDir = path.join(root, 'data');
    const generated = loadSecrets(configFor(path.join(root, 'elsewhere')));
    const configured = {
      cookieKeys: ['c'.repeat(32)],
      jwks: generated.jwks as { keys: Record<string, unknown>[] },
      encryptionKey,
      hmacPepper,
    };
    const secrets = loadSecrets(configFor(dataDir, configured));
    expect(secrets.cookieKeys).toEqual(['c'.repeat(32)]);
    expect(secrets.jwks).toEqual(generated.jwks);
    expect(existsSync(secretsFile(dataDir))).toBe(false);
  });
});

describe('loadSecrets with a damaged secrets.json', () => {
  const damaged = (contents: string) => {
    const dataDir = path.join(root, 'data');
    loadSecrets(configFor(dataDir));
    writeFileSync(secretsFile(dataDir), contents);
    return configFor(dataDir);
  };

  it('stops with a ConfigError naming the file and the damaged entry', () => {
    const config = damaged(JSON.stringify({ cookieKeys: [], jwks: { keys: [] }, encryptionKey: 'x', hmacPepper: 'y' }));
    const error = catchError(() => loadSecrets(config));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(secretsFile(config.dataDir));
    expect(error.message).toMatch(/damaged/);
  });

  it('does not overwrite the damaged file with new keys', () => {
    const config = damaged('{"cookieKeys": []}');
    expect(() => loadSecrets(config)).toThrow(ConfigError);
    expect(readFileSync(secretsFile(config.dataDir), 'utf8')).toBe('{"cookieKeys": []}');
  });

  // Known bug (reported to the lead): readStored() calls JSON.parse outside any try, so a
  // truncated file escapes as a bare SyntaxError that names neither the file nor the remedy.
  // Flip to `it` once src/config/secrets.ts wraps the parse.
  it('a truncated file (invalid JSON) also stops with a ConfigError', () => {
    const config = damaged('{"cookieKeys": [');
    expect(() => loadSecrets(config)).toThrow(ConfigError);
  });
});

function catchError(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}
