/** A slow, salted password hash (argon2id in production). */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** Constant-time verification; never throws for a malformed stored hash, answers false. */
  verify(hash: string, password: string): Promise<boolean>;
  /** True when the stored hash was made with other parameters than the current ones. */
  needsRehash(hash: string): boolean;
}
