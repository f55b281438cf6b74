/**
 * A failure the caller can act on. `status` is the HTTP status it maps to; `expose` says the
 * message is written for the person and may be shown (4xx); 5xx messages never leave the server.
 */
export class AppError extends Error {
  override name = 'AppError';
  readonly code: string;
  readonly status: number;
  readonly expose: boolean;
  /** Field-level messages for forms, keyed by field name. */
  readonly fields: Record<string, string>;

  constructor(
    code: string,
    status: number,
    message: string,
    options: { expose?: boolean; fields?: Record<string, string> } = {},
  ) {
    super(message);
    this.code = code;
    this.status = status;
    this.expose = options.expose ?? status < 500;
    this.fields = options.fields ?? {};
  }
}

/** Narrows `condition` or throws the given error. */
export function assertThat(condition: unknown, error: AppError | (() => AppError)): asserts condition {
  if (!condition) throw typeof error === 'function' ? error() : error;
}

/** One error code of a module: the HTTP status it always answers, and the message people see by default. */
export interface ErrorSpec {
  status: number;
  message: string;
}

/** A module's catalogue: raises its codes, each defined once (a code never answers two statuses). */
export type ErrorCatalogue<C extends Record<string, ErrorSpec>> = {
  readonly specs: C;
  /** The error for `code`; `message` replaces the default where the words must name something (an organization). */
  raise(code: keyof C & string, options?: { message?: string; fields?: Record<string, string> }): AppError;
};

export function errorCatalogue<const C extends Record<string, ErrorSpec>>(specs: C): ErrorCatalogue<C> {
  return {
    specs,
    raise(code, options = {}) {
      const spec = specs[code]!;
      return new AppError(code, spec.status, options.message ?? spec.message, { fields: options.fields });
    },
  };
}
