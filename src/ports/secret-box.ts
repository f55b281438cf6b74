/** Authenticated encryption of small secrets at rest (TOTP seeds, client secrets). */
export interface SecretBox {
  seal(plaintext: string): string;
  /** Throws if the sealed value was tampered with or sealed under another key. */
  open(sealed: string): string;
}
