import type { z } from 'zod';

/**
 * A form's problems by field, the first of each: an empty email is "Enter your email address.",
 * not also "Enter an email address like …" from the check after it.
 */
export function fieldErrors(error: z.ZodError): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const issue of error.issues) errors[String(issue.path[0])] ??= issue.message;
  return errors;
}
