import type { TwofoldApp } from '../../src/app.ts';
import type { Person, Refusal, VerifyOutcome } from '../../src/factors/factor.ts';
import { secretFromUri } from './totp.ts';

/**
 * The factors of a running app, driven directly through the Factor contract (set-up in tests
 * that are not about enrolment): every call goes through the factor's own input schema.
 */
export function factorDriver(app: TwofoldApp) {
  const factor = (kind: string) => {
    const found = app.factors.registry.get(kind);
    if (!found) throw new Error(`no factor ${kind}`);
    return found;
  };
  const context = (binding = 'test', ip = '127.0.0.1') => ({ binding, ip });
  const begin = async (
    kind: string,
    person: Person,
    fields: Record<string, unknown>,
    binding?: string,
    ip?: string,
  ) => {
    const f = factor(kind);
    const step = await f.enrolment!.begin(person, f.input.parse(fields), context(binding, ip));
    if (!step.ok) throw new Error(`could not begin ${kind}: ${step.message}`);
    return { factorId: String(step.model.factorId), model: step.model, warning: step.warning as Refusal | undefined };
  };
  const confirm = (
    kind: string,
    person: Person,
    factorId: string,
    code: string,
    binding?: string,
  ): Promise<VerifyOutcome> => {
    const f = factor(kind);
    return f.enrolment!.confirm(person, f.input.parse({ factorId, code }), context(binding));
  };
  const recordsOf = async (person: Person, kind: string) =>
    (await app.factors.store.findFactors(person.orgId, person.userId)).filter((r) => r.active && r.kind === kind);

  return {
    factor,
    /** A pending authenticator app: its record id, otpauth URI and seed. */
    async beginTotp(person: Person, label = 'Phone') {
      const { factorId, model } = await begin('totp', person, { label });
      return { factorId, uri: String(model.uri), secret: secretFromUri(String(model.uri)) };
    },
    confirmTotp: (person: Person, factorId: string, code: string) => confirm('totp', person, factorId, code),
    /** A pending phone factor (a code is sent to the outbox); `warning` says if it could not be sent. */
    beginPhone: (
      person: Person,
      kind: 'sms' | 'voice',
      phone: string,
      label: string | null,
      binding: string,
      ip: string,
    ) => begin(kind, person, { phone, label: label ?? '' }, binding, ip),
    confirmPhone: (person: Person, kind: 'sms' | 'voice', factorId: string, code: string, binding: string) =>
      confirm(kind, person, factorId, code, binding),
    /** Sends a sign-in code to an active phone factor. */
    async sendCode(person: Person, kind: 'sms' | 'voice', factorId: string, binding: string, ip: string) {
      const f = factor(kind);
      return f.challenge!(person, await recordsOf(person, kind), f.input.parse({ factorId }), context(binding, ip));
    },
    verifyRecoveryCode: (person: Person, code: string) => app.factors.recovery.verify(person, [], { code }, context()),
  };
}
