import type { TrustedBrowsers } from '../../../domain/trusted-browsers.ts';
import type { Person } from '../../../factors/factor.ts';
import type { SessionIndex } from '../../../oidc/session-index.ts';

/** Where a person is signed in and which browsers skip their second step, as their administrator sees it. */
export interface PersonSessionsView {
  sessions: { device: string; apps: string; ip: string | null; signedInAt: number; lastSeen: number }[];
  trustedBrowsers: { label: string; trustedAt: number; lastUsedAt: number | null; expiresAt: number }[];
  /** The Activity page narrowed to this person. */
  activityHref: string;
}

/**
 * The admin person page's sessions section: what the person's own sessions page shows (browser
 * and system, address, last activity), with the apps each session signed in to; never a token.
 */
export function createPersonSessions(deps: {
  sessionIndex: Pick<SessionIndex, 'list'>;
  trustedBrowsers: Pick<TrustedBrowsers, 'list'>;
  /** A client's name as people know it, or its id. */
  clientName(clientId: string): Promise<string>;
}): (person: Person) => Promise<PersonSessionsView> {
  return async (person) => {
    const [sessions, browsers] = await Promise.all([
      deps.sessionIndex.list(person.userId),
      deps.trustedBrowsers.list(person),
    ]);
    return {
      sessions: await Promise.all(
        sessions.map(async (s) => ({
          device: s.device,
          apps: (await Promise.all(s.clientIds.map((id) => deps.clientName(id)))).join(', '),
          ip: s.ip,
          signedInAt: s.createdAt,
          lastSeen: s.lastSeen,
        })),
      ),
      trustedBrowsers: browsers.map((b) => ({
        label: b.label,
        trustedAt: b.createdAt,
        lastUsedAt: b.lastUsedAt,
        expiresAt: b.expiresAt,
      })),
      activityHref: `/admin/activity?${new URLSearchParams({ person: person.email })}`,
    };
  };
}
