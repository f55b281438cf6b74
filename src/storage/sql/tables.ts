import type { ColumnType, Kysely } from 'kysely';

/** A column with a database default: optional on insert. */
type Defaulted<T> = ColumnType<T, T | undefined, T>;

/**
 * Row shapes as stored. Timestamps are epoch milliseconds (BIGINT), booleans are 0/1 integers
 * and JSON is text, so one schema serves SQLite and PostgreSQL.
 */
export interface Tables {
  organizations: {
    id: string;
    slug: string;
    name: string;
    enforce_tfa: number;
    password_min_length: number | null;
    created_at: number;
    trusted_browser_days: number;
    app_passwords: Defaulted<string>;
    legacy_password_access: Defaulted<number>;
    tfa_grace_days: Defaulted<number>;
    /** Epoch ms when enforcement last turned on (migration 0012); null while it is off. */
    tfa_enforced_at: Defaulted<number | null>;
    /** JSON array of factor kinds; null allows every kind. */
    allowed_methods: Defaulted<string | null>;
    phishing_resistant: Defaulted<string>;
    password_max_age_days: Defaulted<number | null>;
    session_max_hours: Defaulted<number>;
    session_idle_minutes: Defaulted<number>;
    logo_url: Defaulted<string | null>;
    /** ISO 3166-1 alpha-2 (migration 0013); null: no default country for phone numbers. */
    default_country: Defaulted<string | null>;
  };
  users: {
    id: string;
    org_id: string;
    email: string;
    email_normalized: string;
    name: string | null;
    phone: string | null;
    role: string;
    password_hash: string;
    created_at: number;
    password_changed_at: number;
    preferred_factor_id: Defaulted<string | null>;
    webauthn_handle: Defaulted<string | null>;
    disabled_at: Defaulted<number | null>;
    tfa_grace_until: Defaulted<number | null>;
    invited_at: Defaulted<number | null>;
  };
  clients: {
    client_id: string;
    name: string | null;
    metadata: string;
    sealed_secret: string | null;
    first_party: number;
    created_at: number;
    account_api: Defaulted<number>;
    introspection: Defaulted<number>;
    forward_auth: Defaulted<number>;
    admin_api: Defaulted<number>;
  };
  app_passwords: {
    id: string;
    org_id: string;
    user_id: string;
    name: string;
    digest: string;
    scopes: string;
    created_at: number;
    expires_at: number | null;
    last_used_at: number | null;
    last_used_ip: string | null;
    last_used_protocol: string | null;
  };
  setup_tokens: {
    token_hash: string;
    expires_at: number;
    used_at: number | null;
  };
  audit_events: {
    id: string;
    org_id: string | null;
    user_id: string | null;
    type: string;
    at: number;
    ip: string | null;
    detail: string;
    actor: Defaulted<string | null>;
    user_agent: Defaulted<string | null>;
    request_id: Defaulted<string | null>;
  };
  /** One-time links and codes for a person (reset, invitation, temporary access), as keyed hashes. */
  person_tokens: {
    id: string;
    org_id: string;
    user_id: string;
    purpose: string;
    token_hash: string;
    created_at: number;
    expires_at: number;
    used_at: number | null;
    created_by: string | null;
  };
  oidc_models: {
    model: string;
    id: string;
    payload: string;
    grant_id: string | null;
    user_code: string | null;
    uid: string | null;
    expires_at: number | null;
    consumed_at: number | null;
    account_id: Defaulted<string | null>;
  };
  factors: {
    id: string;
    org_id: string;
    user_id: string;
    kind: string;
    label: string;
    active: number;
    sealed_secret: string | null;
    last_step: number | null;
    phone: string | null;
    credential_id: string | null;
    public_key: string | null;
    counter: number | null;
    transports: string | null;
    passkey: number;
    created_at: number;
    last_used_at: number | null;
  };
  recovery_codes: {
    id: string;
    org_id: string;
    user_id: string;
    code_hash: string;
    used_at: number | null;
    created_at: number;
  };
  trusted_browsers: {
    id: string;
    org_id: string;
    user_id: string;
    token_hash: string;
    label: string;
    created_at: number;
    expires_at: number;
    last_used_at: number | null;
  };
  ephemeral_values: {
    key: string;
    value: string;
    expires_at: number;
  };
  attempt_counters: {
    key: string;
    count: number;
    last_at: number;
    expires_at: number;
  };
}

export type Database = Kysely<Tables>;
