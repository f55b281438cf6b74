import type { ActivityCursor, ActivityPage } from '../../domain/activity.ts';
import type { AuditPosition } from '../../ports/stores.ts';

/** A position in the trail as a query value: "<epoch ms>.<event id>". */
const POSITION = /^(\d{1,15})\.([0-9a-f-]{36})$/;

const positionText = (position: AuditPosition) => `${position.at}.${position.id}`;

function readPosition(value: unknown): AuditPosition | null {
  const match = typeof value === 'string' ? POSITION.exec(value) : null;
  return match ? { at: Number(match[1]), id: match[2]! } : null;
}

/** `?before=` (older) or `?after=` (newer); anything unreadable opens the newest page. */
export function readCursor(query: Record<string, unknown>): ActivityCursor {
  const before = readPosition(query.before);
  if (before) return { before };
  const after = readPosition(query.after);
  return after ? { after } : null;
}

export interface PageLinks {
  olderHref: string | null;
  newerHref: string | null;
  /** Back to the newest events, once the person has paged away from them. */
  newestHref: string | null;
}

/** Links to the neighbouring pages that keep the filters (`params`, empty values left out). */
export function pageLinks(
  base: string,
  params: Record<string, string>,
  page: ActivityPage,
  cursor: ActivityCursor,
): PageLinks {
  const kept = Object.entries(params).filter(([, value]) => value !== '');
  const href = (extra: [string, string][]) => {
    const search = new URLSearchParams([...kept, ...extra]).toString();
    return search ? `${base}?${search}` : base;
  };
  return {
    olderHref: page.older ? href([['before', positionText(page.older)]]) : null,
    newerHref: page.newer ? href([['after', positionText(page.newer)]]) : null,
    newestHref: cursor ? href([]) : null,
  };
}

/** The same filters as a query string for another address (the exports). */
export function filterSearch(params: Record<string, string>, extra: Record<string, string>): string {
  return new URLSearchParams([
    ...Object.entries(extra),
    ...Object.entries(params).filter(([, v]) => v !== ''),
  ]).toString();
}
