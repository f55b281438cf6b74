/** A dependency the node needs to serve requests (database, Redis), probed by /readyz. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}
