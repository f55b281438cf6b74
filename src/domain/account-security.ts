import type { FactorSummary, Person } from '../factors/factor.ts';
import type { FactorRegistry } from '../factors/registry.ts';
import type { RecoveryCodes } from '../factors/recovery-codes/recovery-codes.ts';
import type { AuditEvent, AuditStore, Organization } from '../ports/stores.ts';
import type { FactorStore } from '../ports/factor-stores.ts';
import type { Audit } from './audit.ts';
import type { TrustedBrowserEntry, TrustedBrowsers } from './trusted-browsers.ts';
import { domainErrors } from './error-codes.ts';

/** What the security overview shows: never a secret, only names, dates and counts. */
export interface SecurityOverview {
  tfaEnabled: boolean;
  /** Why TFA is on or required: the organization's policy, the person's own choice, or off. */
  reason: 'organization' | 'own' | 'off';
  orgEnforces: boolean;
  methods: FactorSummary[];
  preferredId: string | null;
  recoveryLeft: number;
  trustedBrowsers: TrustedBrowserEntry[];
  events: AuditEvent[];
}

export interface AccountSecurity {
  /** `trustToken`: the asking browser's trusted-browser cookie, so that its row says "This browser". */
  overview(person: Person, org: Organization, trustToken?: string): Promise<SecurityOverview>;
  /** Removes a method; the last one turns TFA off (and deletes the recovery codes), unless the organization forbids it. */
  /**
   * Removes one method; the only one turns TFA off, refused while the organization enforces it.
   * `actor` names the administrator who removed it for the person (after a lost device, say).
   */
  removeMethod(person: Person, org: Organization, factorId: string, ip: string, actor?: string): Promise<void>;
  setPreferred(person: Person, factorId: string): Promise<void>;
  /**
   * Turns TFA off: every method, recovery code and trusted browser goes. Refused while the
   * organization enforces TFA. `actor` names the administrator who did it for the person.
   */
  disableTfa(person: Person, org: Organization, ip: string, actor?: string): Promise<void>;
  regenerateRecoveryCodes(person: Person, ip: string): Promise<string[]>;
  /** After a method is added: the first one also creates the recovery codes (returned to show once). */
  methodAdded(person: Person, method: string, ip: string): Promise<string[] | null>;
  revokeTrustedBrowser(person: Person, id: string, ip: string): Promise<void>;
  /** After a password change: every trusted browser asks for the second factor again. */
  revokeAllTrustedBrowsers(person: Person): Promise<void>;
}

export function createAccountSecurity(deps: {
  factors: FactorStore;
  registry: FactorRegistry;
  recovery: RecoveryCodes;
  trustedBrowsers: TrustedBrowsers;
  audit: Audit;
  auditStore: AuditStore;
}): AccountSecurity {
  const { factors, recovery, audit } = deps;
  const active = async (person: Person) =>
    (await factors.findFactors(person.orgId, person.userId)).filter((f) => f.active);
  const record = (person: Person, type: string, ip: string, detail: Record<string, unknown> = {}, actor?: string) =>
    audit.record({ type, orgId: person.orgId, userId: person.userId, ip, detail, actor });

  return {
    async overview(person, org, trustToken) {
      const methods = await active(person);
      const tfaEnabled = methods.length > 0;
      return {
        tfaEnabled,
        reason: org.enforceTfa ? 'organization' : tfaEnabled ? 'own' : 'off',
        orgEnforces: org.enforceTfa,
        methods: methods.map(deps.registry.summarize),
        preferredId: (await factors.findPreferredFactorId(person.orgId, person.userId)) ?? methods[0]?.id ?? null,
        recoveryLeft: await recovery.remaining(person),
        trustedBrowsers: await deps.trustedBrowsers.list(person, trustToken),
        events: await deps.auditStore.listAuditEvents(person.orgId, person.userId, 10),
      };
    },
    async removeMethod(person, org, factorId, ip, actor) {
      const methods = await active(person);
      const target = methods.find((m) => m.id === factorId);
      if (!target) throw domainErrors.raise('unknown_method');
      if (methods.length === 1) {
        if (org.enforceTfa) {
          throw domainErrors.raise('tfa_required', {
            message: actor
              ? `${org.name} requires two-step verification, so their only method cannot be removed. After a lost device, reset their two-step verification instead.`
              : `${org.name} requires two-step verification, so you cannot remove your only method. Add another method first.`,
          });
        }
        await factors.deleteAllFactors(person.orgId, person.userId);
        await record(person, 'tfa.disabled', ip, { via: 'last_method_removed' }, actor);
        return;
      }
      await factors.deleteFactor(person.orgId, person.userId, factorId);
      if ((await factors.findPreferredFactorId(person.orgId, person.userId)) === factorId)
        await factors.setPreferredFactorId(person.orgId, person.userId, null);
      await record(person, 'tfa.method_removed', ip, { kind: target.kind }, actor);
    },
    async setPreferred(person, factorId) {
      if (!(await active(person)).some((m) => m.id === factorId)) throw domainErrors.raise('unknown_method');
      await factors.setPreferredFactorId(person.orgId, person.userId, factorId);
    },
    async disableTfa(person, org, ip, actor) {
      if (org.enforceTfa)
        throw domainErrors.raise('tfa_required', {
          message: `${org.name} requires two-step verification for everyone, so it cannot be turned off.`,
        });
      await factors.deleteAllFactors(person.orgId, person.userId);
      await record(person, 'tfa.disabled', ip, {}, actor);
    },
    async regenerateRecoveryCodes(person, ip) {
      if ((await active(person)).length === 0) throw domainErrors.raise('tfa_off');
      const codes = await recovery.regenerate(person);
      await record(person, 'recovery_codes.regenerated', ip);
      return codes;
    },
    async methodAdded(person, method, ip) {
      await record(person, 'tfa.method_added', ip, { method });
      if ((await recovery.remaining(person)) > 0) return null;
      return recovery.regenerate(person);
    },
    async revokeAllTrustedBrowsers(person) {
      for (const browser of await deps.trustedBrowsers.list(person))
        await deps.trustedBrowsers.revoke(person, browser.id);
    },
    async revokeTrustedBrowser(person, id, ip) {
      if (!(await deps.trustedBrowsers.revoke(person, id))) throw domainErrors.raise('unknown_browser');
      await record(person, 'trusted_browser.revoked', ip);
    },
  };
}
