import { z } from 'zod';

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

/** RFC 8176 values by factor category: something known, something held, a user verified by the authenticator. */
const KNOWLEDGE = new Set(['pwd', 'pin']);
const POSSESSION = new Set(['otp', 'sms', 'tel', 'hwk', 'swk']);
const VERIFICATION = new Set(['user', 'fpt', 'face', 'iris', 'retina', 'vbm']);

/**
 * True when the methods span two factor categories: a password plus a code or key, or a
 * passkey whose authenticator verified the user (PIN or biometric: "user"/"pin" with hwk/swk).
 */
export function isMultiFactor(methods: CompletedMethod[]): boolean {
  const amr = [...new Set(methods.flatMap((m) => m.amr))];
  const categories = [KNOWLEDGE, POSSESSION, VERIFICATION].filter((set) => amr.some((v) => set.has(v)));
  return amr.includes('mfa') || categories.length >= 2;
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

/**
 * The relying party asked for MFA: acr_values (OIDC Core §3.1.2.1) naming only the MFA class,
 * or the acr claim requested with the MFA value through the claims parameter.
 */
export function mfaRequested(params: Record<string, unknown>): boolean {
  const acrValues = typeof params.acr_values === 'string' ? params.acr_values.split(' ') : [];
  if (acrValues.includes(ACR_MFA) && !acrValues.includes(ACR_PASSWORD)) return true;
  const claims = typeof params.claims === 'string' ? acrClaimSchema.safeParse(safeJson(params.claims)) : undefined;
  // Anything malformed counts as "not requested"; oidc-provider has already refused what it must.
  const acr = claims?.success ? claims.data.id_token?.acr : undefined;
  return (
    acr?.value === ACR_MFA ||
    (acr?.values !== undefined && acr.values.length > 0 && acr.values.every((v) => v === ACR_MFA))
  );
}

const acrClaimSchema = z.object({
  id_token: z
    .object({
      acr: z
        .object({ value: z.string().optional(), values: z.array(z.string()).optional() })
        .nullable()
        .optional(),
    })
    .optional(),
});

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
