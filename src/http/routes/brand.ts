import type { Context } from 'koa';

import type { Organization } from '../../ports/stores.ts';
import { allowImageFrom } from '../middleware/security-headers.ts';

/** What the page header shows once the person's organization is known (views/layout.ejs). */
export interface Brand {
  name: string;
  /** Shown in the header's mark when there is no logo. */
  initial: string;
  logoUrl: string | null;
}

/** The organization's name and logo for the header; the page may then load that logo (CSP img-src). */
export function brandFor(ctx: Context, org: Pick<Organization, 'name' | 'logoUrl'>): Brand {
  if (org.logoUrl) allowImageFrom(ctx, org.logoUrl);
  return { name: org.name, initial: ([...org.name.trim()][0] ?? '').toUpperCase(), logoUrl: org.logoUrl };
}
