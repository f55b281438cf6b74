import { randomBytes, randomInt, randomUUID } from 'node:crypto';

/** Cryptographically secure randomness, injected so tests can observe or pin it. */
export interface Random {
  bytes(length: number): Buffer;
  /** A URL-safe token carrying `bytes` bytes of entropy. */
  token(bytes?: number): string;
  /** A random UUID (v4) for record identifiers. */
  uuid(): string;
  /** A string of `length` decimal digits, each uniform. */
  digits(length: number): string;
}

/** Bytes drawn from the CSPRNG at once and handed out in order, each once (as randomUUID does). */
const POOL_BYTES = 4096;

export function createCryptoRandom(): Random {
  // Several tokens are drawn per request (request id, CSRF, cookies); one draw per 4 KiB costs
  // far less than one per token. Bytes handed out are wiped from the pool, so it never holds a
  // secret already given away. A request larger than the pool is drawn on its own.
  let pool = Buffer.alloc(0);
  let used = 0;
  const draw = <T>(length: number, use: (bytes: Buffer) => T): T => {
    if (length > POOL_BYTES) return use(randomBytes(length));
    if (used + length > pool.length) {
      pool = randomBytes(POOL_BYTES);
      used = 0;
    }
    const bytes = pool.subarray(used, (used += length));
    try {
      return use(bytes);
    } finally {
      bytes.fill(0);
    }
  };
  return {
    bytes: (length) => draw(length, (bytes) => Buffer.from(bytes)),
    token: (bytes = 32) => draw(bytes, (taken) => taken.toString('base64url')),
    uuid: () => randomUUID(),
    digits: (length) => Array.from({ length }, () => randomInt(10)).join(''),
  };
}
