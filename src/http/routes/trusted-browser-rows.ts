import type { TrustedBrowserEntry } from '../../domain/trusted-browsers.ts';

/** One trusted browser as a row of the account pages: what the person recognises it by. */
export interface TrustedBrowserRow {
  id: string;
  /** "Chrome 128 on Windows 10". */
  label: string;
  current: boolean;
  trustedAt: number;
  /** When it last skipped the second step; null until it has. */
  lastUsedAt: number | null;
  expiresAt: number;
  /** The "Stop trusting" button's accessible name, different on every row (WCAG 2.4.6, 4.1.2). */
  stopLabel: string;
}

const utc = (at: number) => `${new Date(at).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/**
 * The rows of the trusted browsers list. The asking browser is "this browser"; two others
 * described alike (the same browser on the same system) are told apart by when they were trusted.
 */
export function trustedBrowserRows(browsers: TrustedBrowserEntry[]): TrustedBrowserRow[] {
  return browsers.map((b) => {
    const twins = browsers.filter((o) => !o.current && o.label === b.label).length > 1;
    const stopLabel = b.current
      ? `Stop trusting this browser (${b.label})`
      : `Stop trusting ${b.label}${twins ? `, trusted ${utc(b.createdAt)}` : ''}`;
    return {
      id: b.id,
      label: b.label,
      current: b.current,
      trustedAt: b.createdAt,
      lastUsedAt: b.lastUsedAt,
      expiresAt: b.expiresAt,
      stopLabel,
    };
  });
}
