import type { SessionEntry } from '../../oidc/session-index.ts';

/** One row of the sessions page: what the person recognises a browser by, and its button's own name. */
export interface SessionRow extends SessionEntry {
  current: boolean;
  apps: string[];
  /** The sign-out button's accessible name, different on every row (WCAG 2.4.6, 4.1.2). */
  signOutLabel: string;
}

/**
 * The rows of the sessions page, with the apps named. Two browsers described alike (the same
 * browser on the same system) are told apart by their address, then by when they signed in.
 */
export async function sessionRows(
  sessions: SessionEntry[],
  currentUid: string | null,
  clientName: (clientId: string) => Promise<string>,
): Promise<SessionRow[]> {
  const alike = (s: SessionEntry) => sessions.filter((o) => o.device === s.device);
  return Promise.all(
    sessions.map(async (s) => {
      const twins = alike(s);
      const sameAddress = s.ip !== null && twins.filter((o) => o.ip === s.ip).length === 1;
      const place =
        twins.length === 1 ? '' : sameAddress ? ` at ${s.ip}` : `, signed in ${new Date(s.createdAt).toISOString()}`;
      return {
        ...s,
        current: s.uid === currentUid,
        apps: await Promise.all(s.clientIds.map(clientName)),
        signOutLabel: `Sign out ${s.device}${place}`,
      };
    }),
  );
}
