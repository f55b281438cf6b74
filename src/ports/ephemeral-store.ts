/**
 * Short-lived values shared by every node: pending sign-in state, one-time codes, WebAuthn
 * challenges. SQL (embedded) and Redis (scale-out) implement it; `take` is an atomic
 * read-and-delete, so a value can be used once however many requests race for it.
 */
export interface EphemeralStore {
  put(key: string, value: unknown, ttlSeconds: number): Promise<void>;
  get<T>(key: string): Promise<T | undefined>;
  take<T>(key: string): Promise<T | undefined>;
  delete(key: string): Promise<void>;
}
