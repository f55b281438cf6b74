/**
 * Authentication context classes and methods carried in ID tokens (OIDC Core §2, RFC 8176).
 * A sign-in records each completed method as {method, amr, at}; acr and amr derive from them.
 */
export const ACR_PASSWORD = 'urn:twofold:acr:pwd';
export const ACR_MFA = 'urn:twofold:acr:mfa';
export const ACR_VALUES = [ACR_PASSWORD, ACR_MFA] as const;

export interface CompletedMethod {
  /** Our name for the method: "password", "totp", "sms", … */
  method: string;
  /** RFC 8176 values this method contributes ("pwd", "otp", "hwk", "user", …). */
  amr: string[];
  /** Epoch seconds. */
  at: number;
}

/** True when the methods span two factors (something known plus something held or inherent). */
export function isMultiFactor(methods: CompletedMethod[]): boolean {
  const amr = new Set(methods.flatMap((m) => m.amr));
  return amr.has('mfa') || (amr.has('pwd') && [...amr].some((value) => value !== 'pwd'));
}

export function acrFor(methods: CompletedMethod[]): string {
  return isMultiFactor(methods) ? ACR_MFA : ACR_PASSWORD;
}

/** RFC 8176 amr: the union of the methods' values, plus "mfa" when more than one factor was used. */
export function amrFor(methods: CompletedMethod[]): string[] {
  const amr = [...new Set(methods.flatMap((m) => m.amr))];
  if (isMultiFactor(methods) && !amr.includes('mfa')) amr.push('mfa');
  return amr;
}
