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

export function createCryptoRandom(): Random {
  return {
    bytes: (length) => randomBytes(length),
    token: (bytes = 32) => randomBytes(bytes).toString('base64url'),
    uuid: () => randomUUID(),
    digits: (length) => Array.from({ length }, () => randomInt(10)).join(''),
  };
}
