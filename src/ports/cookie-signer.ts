/**
 * Signs and checks cookie values for Koa and oidc-provider (the `.sig` companion cookies): the
 * shape of the Keygrip object both accept as their `keys`. The newest key signs; every key still
 * verifies, so rotating keys signs no one out.
 */
export interface CookieSigner {
  sign(data: string): string;
  verify(data: string, digest: string): boolean;
  /** The position of the key that made `digest`, or -1. */
  index(data: string, digest: string): number;
}
