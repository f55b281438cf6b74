/** Durable records and the stores that keep them (SQLite or PostgreSQL through one SQL layer). */

export type Role = 'member' | 'admin';

export interface Organization {
  id: string;
  slug: string;
  name: string;
  /** Everyone must enrol a second factor at their next sign-in. */
  enforceTfa: boolean;
  /** Overrides the configured minimum password length where set. */
  passwordMinLength: number | null;
  /** How long "trust this browser" skips the second factor; 0 forbids it. */
  trustedBrowserDays: number;
  /** Who may create app passwords for mail and calendar clients: people with TFA, everyone, or no one. */
  appPasswords: AppPasswordPolicy;
  /** Mail and calendar servers may check the account password itself, for people without TFA only. */
  legacyPasswordAccess: boolean;
  /** Days a member of an enforcing organization may still sign in before enrolling; 0 enrols at once. */
  tfaGraceDays: number;
  /** When enforcement last turned on (the enrolment grace counts from it); null while it is off. */
  tfaEnforcedAt: number | null;
  /** The factor kinds people may use (e.g. no SMS or voice); null allows every kind of this deployment. */
  allowedMethods: string[] | null;
  /** Who must use a phishing-resistant method (security key or passkey). */
  phishingResistant: PhishingResistantPolicy;
  /** Days after which a password must be changed at sign-in; null never (NIST SP 800-63B §3.1.1.2 advises against it). */
  passwordMaxAgeDays: number | null;
  /** The sign-in session asks for the password and second factor again after this many hours at most… */
  sessionMaxHours: number;
  /** …and after this many minutes without activity (NIST SP 800-63B §4.2.3, AAL2: 12 hours, 30 minutes). */
  sessionIdleMinutes: number;
  /** An https URL of the organization's logo, shown in page headers; null shows its name only. */
  logoUrl: string | null;
  /**
   * The country (ISO 3166-1 alpha-2) whose national format phone numbers are read in unless the
   * person picks another; null: none, numbers are typed in international format unless one is picked.
   */
  defaultCountry: string | null;
  createdAt: number;
}

export const PHISHING_RESISTANT_POLICIES = ['none', 'admins', 'everyone'] as const;
export type PhishingResistantPolicy = (typeof PHISHING_RESISTANT_POLICIES)[number];

export const APP_PASSWORD_POLICIES = ['tfa', 'everyone', 'none'] as const;
export type AppPasswordPolicy = (typeof APP_PASSWORD_POLICIES)[number];

export interface User {
  id: string;
  orgId: string;
  email: string;
  name: string | null;
  phone: string | null;
  role: Role;
  createdAt: number;
  passwordChangedAt: number;
  /** Set while an administrator has disabled the account: no sign-in, token or app password works. */
  disabledAt: number | null;
  /** An enrolment deadline an administrator set for this person, overriding the organization's grace. */
  tfaGraceUntil: number | null;
  /** Set while an invitation is pending: the person has not chosen a password yet. */
  invitedAt: number | null;
}

/** A user with the organization it belongs to, for sign-in and token claims. */
export interface UserWithOrganization {
  user: User;
  organization: Organization;
}

export interface OrganizationStore {
  insertOrganization(org: Organization): Promise<void>;
  findOrganizationBySlug(slug: string): Promise<Organization | undefined>;
  findOrganizationById(id: string): Promise<Organization | undefined>;
  /** Replaces the organization's settings (its id and slug stay). */
  updateOrganization(org: Organization): Promise<void>;
  countOrganizations(): Promise<number>;
}

/**
 * The key a UserStore compares emails on: emails are unique case-insensitively and across Unicode
 * compatibility forms, so `ａｄａ@example.com` (fullwidth) or `ADA@example.com` is the account of
 * `ada@example.com`, never a second one beside it (issue 8). NFKC folds width and compatibility
 * variants (what PRECIS's width-mapping rule does, and more: ligatures, circled letters); then the
 * whole address is lowercased, as PRECIS's UsernameCaseMapped profile maps case (RFC 8265 §3.3.2:
 * Unicode toLowerCase, no longer full case folding). `ß` is therefore not folded to `ss`: UTS #46
 * nontransitional processing (IDNA2008) keeps `faß.de` and `fass.de` apart as two domains, and a
 * local part is its domain's business (RFC 5321 §2.4). Lowercasing can leave text that NFKC would
 * change, so NFKC runs again: the key is stable (normalizing a key gives the same key).
 * It lives with the port because every store, the domain and migration 0006 must agree on it.
 */
export function normalizeEmail(email: string): string {
  return email.normalize('NFKC').trim().toLowerCase().normalize('NFKC');
}

export interface UserStore {
  /** Inserts the user with its password hash; rejects a duplicate email with EmailTakenError. */
  insertUser(user: User, passwordHash: string): Promise<void>;
  /** Sign-in lookup: emails are unique across the deployment, compared case-insensitively. */
  findUserByEmail(email: string): Promise<(UserWithOrganization & { passwordHash: string }) | undefined>;
  /** Resolves an issued subject identifier (the user id) for the protocol layer. */
  findUserBySubject(subject: string): Promise<UserWithOrganization | undefined>;
  /** Replaces the stored hash of the same password (parameter upgrade at sign-in). */
  updatePasswordHash(orgId: string, userId: string, passwordHash: string): Promise<void>;
  /** Sets a new password. */
  updatePassword(orgId: string, userId: string, passwordHash: string, changedAt: number): Promise<void>;
  /** The organization's people whose name or email contains `search` (case-insensitive), by email. */
  listUsers(orgId: string, options: { search: string; limit: number }): Promise<User[]>;
  /** Sets (or with null clears) the person's own enrolment deadline, which an administrator chose. */
  updateTfaGraceUntil(orgId: string, userId: string, until: number | null): Promise<void>;
}

/** A first-run organization plus its administrator, written together or not at all. */
export interface OrganizationWithAdmin {
  organization: Organization;
  admin: User;
  passwordHash: string;
}

export interface SetupStore {
  insertSetupToken(tokenHash: string, expiresAt: number): Promise<void>;
  /**
   * Consumes a live setup token and creates the first organization with its admin in one
   * transaction. Answers false (and writes nothing) if the token is unknown, used or expired.
   */
  consumeSetupToken(tokenHash: string, now: number, create: OrganizationWithAdmin): Promise<boolean>;
  /** True while this setup token is live (unused and unexpired). */
  isLiveSetupToken(tokenHash: string, now: number): Promise<boolean>;
}

export interface ClientRecord {
  clientId: string;
  name: string | null;
  /** OAuth client metadata (RFC 7591 names) without the secret. */
  metadata: Record<string, unknown>;
  /** AES-256-GCM sealed client secret; null for public clients. */
  sealedSecret: string | null;
  firstParty: boolean;
  /** May call the account API (/api/account) with its access tokens: change people's TFA settings. */
  accountApi: boolean;
  /** A resource server: may introspect tokens issued to other clients (RFC 7662). */
  introspection: boolean;
  /** A reverse proxy: may check app passwords at /forward-auth. */
  forwardAuth: boolean;
  /** May call the admin API (/api/admin) with its access tokens, for the administrator who signed in. */
  adminApi: boolean;
  createdAt: number;
}

export interface ClientStore {
  insertClient(client: ClientRecord): Promise<void>;
  findClient(clientId: string): Promise<ClientRecord | undefined>;
  listClients(): Promise<ClientRecord[]>;
}

export interface AuditEvent {
  id: string;
  orgId: string | null;
  userId: string | null;
  type: string;
  at: number;
  ip: string | null;
  detail: Record<string, unknown>;
  /** Who acted: the person's or administrator's email, or "cli"; null when the subject acted. */
  actor: string | null;
  userAgent: string | null;
  requestId: string | null;
}

/** Where an event sits in the trail, newest first: its time, then its id to break ties. */
export interface AuditPosition {
  at: number;
  id: string;
}

/** A filtered slice of one organization's trail; every filter but the organization is optional. */
export interface AuditQuery {
  orgId: string;
  /** The events of this person only. */
  userId?: string;
  /** The events of the organization's people whose email or name contains this (case-insensitive). */
  personSearch?: string;
  /** Event types; one ending in `.*` stands for every type with that prefix (`tfa.*`). */
  types?: readonly string[];
  /** From this time (inclusive) and until that time (exclusive), epoch milliseconds. */
  from?: number;
  to?: number;
  /** Keyset paging: the events just older than `before`, or just newer than `after`; newest first either way. */
  before?: AuditPosition;
  after?: AuditPosition;
  limit: number;
}

/** An event with its subject as the organization knows them now (null: no person, or one since removed). */
export interface AuditEntry extends AuditEvent {
  subject: { email: string; name: string | null } | null;
}

export interface AuditStore {
  insertAuditEvent(event: AuditEvent): Promise<void>;
  listAuditEvents(orgId: string, userId: string, limit: number): Promise<AuditEvent[]>;
  /** One page of the organization's trail, newest first; never another organization's event. */
  findAuditEvents(query: AuditQuery): Promise<AuditEntry[]>;
  /**
   * The time of each person's latest event of `type` in the organization, by user id (one read for
   * a directory page), or of one person's only.
   */
  findLatestEventTimes(orgId: string, type: string, userId?: string): Promise<Map<string, number>>;
}

export class EmailTakenError extends Error {
  override name = 'EmailTakenError';
}

export class DuplicateError extends Error {
  override name = 'DuplicateError';
}
