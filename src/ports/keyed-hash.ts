/**
 * HMAC-SHA256 under the deployment's pepper, for high-entropy secrets that need a fast lookup
 * (setup tokens, one-time codes, app passwords): a stolen database alone cannot test guesses.
 */
export interface KeyedHash {
  digest(purpose: string, value: string): string;
  /** Constant-time comparison of a value against a stored digest. */
  matches(purpose: string, value: string, digest: string): boolean;
}
