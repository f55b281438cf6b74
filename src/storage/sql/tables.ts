import type { Kysely } from 'kysely';

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
  };
  clients: {
    client_id: string;
    name: string | null;
    metadata: string;
    sealed_secret: string | null;
    first_party: number;
    created_at: number;
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
  };
  attempt_counters: {
    key: string;
    count: number;
    last_at: number;
    expires_at: number;
  };
}

export type Database = Kysely<Tables>;
