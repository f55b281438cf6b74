/**
 * Durable changes that belong together (DESIGN §3: "all writes that belong together are one
 * transaction"). Every write the SQL stores make while `run` works joins one transaction, whichever
 * store makes it: the change commits whole or, on an error or a crash, leaves the old state intact.
 * Redis (the scale-out ephemeral store) is not part of it; callers order those writes so that a
 * failure between the two fails closed (end access first, then change the durable state).
 */
export interface Transactions {
  /** Runs `work` in one transaction; a `run` inside another joins the outer one. */
  run<T>(work: () => Promise<T>): Promise<T>;
  /**
   * Runs `effect` once the transaction it is called in has committed, or at once outside one; never
   * after a rollback. For what must not announce a change that may yet be undone (security emails).
   */
  afterCommit(effect: () => void): void;
}
