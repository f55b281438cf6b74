import type { Clock } from '../ports/clock.ts';
import type { Random } from '../ports/random.ts';
import type { RequestContext } from '../ports/request-context.ts';
import type { Transactions } from '../ports/transactions.ts';
import type { AuditEvent, AuditStore } from '../ports/stores.ts';

export interface AuditInput {
  type: string;
  orgId?: string | null;
  userId?: string | null;
  ip?: string | null;
  /** Who acted when it was not the subject: an administrator's email, or "cli". */
  actor?: string | null;
  /** Never secrets: codes, passwords and tokens stay out of the audit trail. */
  detail?: Record<string, unknown>;
}

/** Security events (sign-ins, failures, changes), kept per organization and person. */
export interface Audit {
  record(event: AuditInput): Promise<void>;
}

export function createAudit(deps: {
  store: AuditStore;
  clock: Clock;
  random: Random;
  /** The request an event comes from: its address, browser and request id are recorded with it. */
  context?: RequestContext;
  /**
   * Told of each event once it is stored (the security emails): it must return at once and never
   * throw, so that what it does can neither slow nor undo the change the event records.
   */
  onRecorded?: (event: AuditEvent) => void;
  /** An event recorded inside a transaction is announced once it commits, never if it rolls back. */
  transactions?: Pick<Transactions, 'afterCommit'>;
}): Audit {
  return {
    async record(event) {
      const request = deps.context?.current();
      const stored: AuditEvent = {
        id: deps.random.uuid(),
        orgId: event.orgId ?? null,
        userId: event.userId ?? null,
        type: event.type,
        at: deps.clock.now(),
        ip: event.ip ?? request?.ip ?? null,
        detail: event.detail ?? {},
        actor: event.actor ?? null,
        userAgent: request?.userAgent ?? null,
        requestId: request?.requestId ?? null,
      };
      await deps.store.insertAuditEvent(stored);
      const { onRecorded } = deps;
      if (!onRecorded) return;
      if (deps.transactions) deps.transactions.afterCommit(() => onRecorded(stored));
      else onRecorded(stored);
    },
  };
}
