import { createHash, generateKeyPairSync, randomBytes, type JsonWebKey } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

import { ConfigError, type Config } from './load.ts';

/** Keys every node of a deployment must share. */
export interface Secrets {
  cookieKeys: string[];
  jwks: { keys: JsonWebKey[] };
  encryptionKey: Buffer;
  hmacPepper: string;
}

const storedSchema = z.object({
  cookieKeys: z.array(z.string().min(32)).min(1),
  jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())).min(1) }),
  encryptionKey: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  hmacPepper: z.string().min(32),
});
type Stored = z.infer<typeof storedSchema>;

/** RFC 7638 thumbprint as the key id: unique per key and stable across restarts. */
function thumbprint(jwk: JsonWebKey): string {
  const members =
    jwk.kty === 'RSA' ? { e: jwk.e, kty: jwk.kty, n: jwk.n } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

function signingKey(kind: 'rsa' | 'ec'): JsonWebKey {
  const { privateKey } =
    kind === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: thumbprint(jwk), use: 'sig', alg: kind === 'rsa' ? 'RS256' : 'ES256' };
}

function generate(): Stored {
  return {
    cookieKeys: [randomBytes(32).toString('base64url')],
    jwks: { keys: [signingKey('rsa'), signingKey('ec')] as Record<string, unknown>[] },
    encryptionKey: randomBytes(32).toString('base64url'),
    hmacPepper: randomBytes(32).toString('base64url'),
  };
}

function readStored(file: string): Stored | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`cannot read ${file}: ${(error as Error).message}`);
  }
  const damaged = (why: string) =>
    new ConfigError(
      `${file} is damaged (${why}); restore it, or remove it to start afresh (sessions and tokens signed with the old keys end)`,
    );
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw damaged('not valid JSON');
  }
  const parsed = storedSchema.safeParse(json);
  if (!parsed.success) throw damaged(parsed.error.issues[0]?.path.join('.') || 'wrong shape');
  return parsed.data;
}

/**
 * Creates secrets.json exactly once, also when the server and the CLI start together:
 * the file is written aside and hard-linked into place, which fails if another process won.
 */
function createStored(file: string): Stored {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(temp, `${JSON.stringify(generate(), null, 2)}\n`, { mode: 0o600 });
  chmodSync(temp, 0o600);
  try {
    linkSync(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    rmSync(temp, { force: true });
  }
  const stored = readStored(file);
  if (!stored) throw new ConfigError(`cannot create ${file}`);
  return stored;
}

/** Configured secrets win; whatever is not configured comes from `<dataDir>/secrets.json`. */
export function loadSecrets(config: Config): Secrets {
  const configured = config.secrets;
  const complete = configured.cookieKeys && configured.jwks && configured.encryptionKey && configured.hmacPepper;
  const file = path.join(config.dataDir, 'secrets.json');
  const stored = complete ? undefined : (readStored(file) ?? createStored(file));
  const pick = <K extends keyof Stored>(key: K): Stored[K] => (configured[key] ?? stored?.[key]) as Stored[K];
  return {
    cookieKeys: pick('cookieKeys'),
    jwks: pick('jwks') as { keys: JsonWebKey[] },
    encryptionKey: Buffer.from(pick('encryptionKey'), 'base64url'),
    hmacPepper: pick('hmacPepper'),
  };
}
