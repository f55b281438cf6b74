/**
 * Text the database cannot hold was sent: PostgreSQL refuses a NUL character in any text value
 * (SQLSTATE 22021), whether it is stored or only compared. It is the sender's fault, so it answers
 * `400 invalid_request` like any malformed request; the fields are those of an RFC 6749 §5.2 error,
 * as StoreUnavailableError's, so oidc-provider's own endpoints render it the same way.
 */
export class UnstorableTextError extends Error {
  override name = 'UnstorableTextError';
  readonly error_description = 'The request holds a character that cannot be accepted (a NUL byte).';
  readonly status = 400;
  readonly statusCode = 400;
  readonly expose = true;

  constructor(cause: unknown) {
    super('invalid_request', { cause });
  }
}
