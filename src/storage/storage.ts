import type { AttemptCounter } from '../ports/attempt-counter.ts';
import type { EphemeralStore } from '../ports/ephemeral-store.ts';
import type { OidcModelStore } from '../ports/oidc-model-store.ts';
import type { ReadinessCheck } from '../ports/readiness.ts';
import type { StoreName } from '../ports/store-unavailable.ts';
import type { SqlDatabase } from './sql/database.ts';

/** Durable SQL plus the ephemeral stores of the configured mode (DESIGN §3). */
export interface Storage {
  sql: SqlDatabase;
  models: OidcModelStore;
  counter: AttemptCounter;
  ephemeral: EphemeralStore;
  checks: ReadinessCheck[];
  /** Deletes expired ephemeral rows (embedded mode; Redis expires keys itself). */
  sweep(): Promise<void>;
  close(): Promise<void>;
}

/** What the node is told about connection failures it recovers from by itself (for its log). */
export type OutageListener = (store: StoreName, error: Error) => void;
