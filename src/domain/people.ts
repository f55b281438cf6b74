import type { FactorSummary, Person } from '../factors/factor.ts';
import type { FactorRegistry } from '../factors/registry.ts';
import type { Clock } from '../ports/clock.ts';
import type { FactorRecord, FactorStore } from '../ports/factor-stores.ts';
import type { AuditEvent, AuditStore, Organization, User, UserStore } from '../ports/stores.ts';
import type { AppPasswords, AppPasswordSummary } from './app-passwords.ts';
import { domainErrors } from './error-codes.ts';
import { enrolmentDeadline } from './tfa-requirement.ts';

/**
 * Two-step verification as an administrator sees it: required by the organization and set up, on
 * by the person's choice, off, required and not set up yet (they enrol at their next sign-in), or
 * required and not set up while their enrolment deadline is ahead (`graceUntil`).
 */
export type TfaStatus = 'enforced' | 'own' | 'off' | 'not_enrolled' | 'grace';
export const TFA_STATUSES: readonly TfaStatus[] = ['enforced', 'own', 'off', 'grace', 'not_enrolled'];

export interface PersonRow {
  id: string;
  name: string | null;
  email: string;
  role: User['role'];
  tfa: TfaStatus;
  /** While `tfa` is "grace": the deadline by which the person must set up a method. */
  graceUntil: number | null;
  methods: string[];
  lastSignInAt: number | null;
  /** Set while their invitation is pending: they have not chosen a password yet. */
  invitedAt: number | null;
  /** When an administrator disabled the person; null while they may sign in. */
  disabledAt: number | null;
}

/** Whether people may sign in (active) or an administrator has disabled them. */
export type AccountState = 'active' | 'disabled';
export const ACCOUNT_STATES: readonly AccountState[] = ['active', 'disabled'];

export interface PersonDetail extends PersonRow {
  person: Person;
  methodDetails: FactorSummary[];
  appPasswords: AppPasswordSummary[];
  events: AuditEvent[];
}

const PAGE_SIZE = 25;
const SIGN_IN = 'signin.succeeded';
/** The directory reads at most this many matches; search narrows a larger organization. */
const SCAN_LIMIT = 2000;

export const tfaStatusOf = (org: Organization, hasFactor: boolean, inGrace: boolean): TfaStatus =>
  hasFactor ? (org.enforceTfa ? 'enforced' : 'own') : org.enforceTfa ? (inGrace ? 'grace' : 'not_enrolled') : 'off';

/** The organization's people for its administrators: never another organization's, never a secret. */
export interface People {
  list(
    org: Organization,
    options: { search: string; status: TfaStatus | null; page: number; account?: AccountState | null },
  ): Promise<{ rows: PersonRow[]; total: number; page: number; pages: number }>;
  /** One person of the organization; anyone else (another organization's, unknown) is not found. */
  describe(org: Organization, userId: string): Promise<PersonDetail>;
  /** Who a person of the organization is, for an action on them (one read); not found like describe. */
  find(org: Organization, userId: string): Promise<Person>;
}

export function createPeople(deps: {
  users: UserStore;
  factors: FactorStore;
  registry: FactorRegistry;
  auditStore: AuditStore;
  appPasswords: Pick<AppPasswords, 'list'>;
  clock: Clock;
}): People {
  /** A person's row from what was read for them: their active factors and their latest sign-in. */
  function rowOf(org: Organization, user: User, active: FactorRecord[], lastSignInAt: number | null): PersonRow {
    const deadline = active.length === 0 ? enrolmentDeadline(org, user) : null;
    const graceUntil = deadline !== null && deps.clock.now() < deadline ? deadline : null;
    return {
      id: user.id,
      name: user.name,
      email: user.email,
      role: user.role,
      tfa: tfaStatusOf(org, active.length > 0, graceUntil !== null),
      graceUntil,
      methods: [...new Set(active.map((f) => deps.registry.summarize(f).kindName))],
      lastSignInAt,
      invitedAt: user.invitedAt,
      disabledAt: user.disabledAt,
    };
  }

  async function userOf(org: Organization, userId: string): Promise<User> {
    const found = /^[0-9a-f-]{36}$/.test(userId) ? await deps.users.findUserBySubject(userId) : undefined;
    if (!found || found.organization.id !== org.id) throw domainErrors.raise('unknown_person');
    return found.user;
  }

  return {
    async list(org, { search, status, page, account = null }) {
      // Three reads for the whole directory, whatever its size: people, their factors, their sign-ins.
      const [users, factors, signIns] = await Promise.all([
        deps.users.listUsers(org.id, { search, limit: SCAN_LIMIT }),
        deps.factors.findActiveFactorsOfOrganization(org.id),
        deps.auditStore.findLatestEventTimes(org.id, SIGN_IN),
      ]);
      const factorsOf = Map.groupBy(factors, (f) => f.userId);
      const rows = users
        .map((user) => rowOf(org, user, factorsOf.get(user.id) ?? [], signIns.get(user.id) ?? null))
        .filter((row) => status === null || row.tfa === status)
        .filter((row) => account === null || (row.disabledAt !== null) === (account === 'disabled'));
      const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
      const current = Math.min(Math.max(1, page), pages);
      return {
        rows: rows.slice((current - 1) * PAGE_SIZE, current * PAGE_SIZE),
        total: rows.length,
        page: current,
        pages,
      };
    },
    async describe(org, userId) {
      const user = await userOf(org, userId);
      const person: Person = { orgId: org.id, userId: user.id, email: user.email };
      const [factors, events, signIns, appPasswords] = await Promise.all([
        deps.factors.findFactors(org.id, user.id),
        deps.auditStore.listAuditEvents(org.id, user.id, 20),
        deps.auditStore.findLatestEventTimes(org.id, SIGN_IN, user.id),
        deps.appPasswords.list(person),
      ]);
      const active = factors.filter((f) => f.active);
      const row = rowOf(org, user, active, signIns.get(user.id) ?? null);
      return { ...row, events, person, methodDetails: active.map(deps.registry.summarize), appPasswords };
    },
    async find(org, userId) {
      const user = await userOf(org, userId);
      return { orgId: org.id, userId: user.id, email: user.email };
    },
  };
}
