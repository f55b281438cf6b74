import { z } from 'zod';

import type { Person } from '../factors/factor.ts';
import { PROTOCOL_SCOPES, type AppPasswordRecord, type AppPasswordStore } from '../ports/app-password-store.ts';
import type { Clock } from '../ports/clock.ts';
import type { KeyedHash } from '../ports/keyed-hash.ts';
import type { Random } from '../ports/random.ts';
import type { Transactions } from '../ports/transactions.ts';
import type { Organization } from '../ports/stores.ts';
import type { Audit } from './audit.ts';
import { domainErrors } from './error-codes.ts';

/** No 0/o, 1/l/i: read off a screen into a phone. 20 symbols of 31 ≈ 99 bits from a CSPRNG. */
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
const LENGTH = 20;
const DAY_MS = 86_400_000;

/** Spaces and case do not matter when an app password is typed into a mail client. */
export function normalizeAppPassword(input: string): string {
  return input.replace(/\s+/g, '').toLowerCase();
}

/** True when the input has the shape of an app password (so it is never sent to the password hash). */
export function looksLikeAppPassword(normalized: string): boolean {
  return normalized.length === LENGTH && [...normalized].every((c) => ALPHABET.includes(c));
}

export const newAppPasswordSchema = z.object({
  name: z.string().trim().min(1, 'Give it a name, like "Thunderbird on laptop".').max(60, 'Use at most 60 characters.'),
  scopes: z
    .array(z.enum(PROTOCOL_SCOPES))
    .min(1, 'Choose at least one kind of app.')
    .transform((scopes) => PROTOCOL_SCOPES.filter((s) => scopes.includes(s))),
  expiresInDays: z.number().int().min(1).max(3650).nullable().default(null),
});
export type NewAppPassword = z.input<typeof newAppPasswordSchema>;

/** What the pages and API show of an app password: never its digest. */
export type AppPasswordSummary = Omit<AppPasswordRecord, 'digest' | 'orgId' | 'userId'>;

const summarize = ({
  digest: _digest,
  orgId: _orgId,
  userId: _userId,
  ...rest
}: AppPasswordRecord): AppPasswordSummary => rest;

/** Ends the tokens issued with an app password, at once (they are checked by introspection). */
export interface AppPasswordTokens {
  revokeTokensOf(appPasswordId: string): Promise<void>;
}

export interface AppPasswords {
  /** Whether the organization lets this person create app passwords, with the reason if not. */
  mayCreate(org: Organization, hasTfa: boolean): { allowed: true } | { allowed: false; reason: string };
  /** Creates one; the plain password is returned once, grouped in fours for reading. */
  create(
    person: Person,
    org: Organization,
    hasTfa: boolean,
    input: NewAppPassword,
    ip: string,
  ): Promise<{ summary: AppPasswordSummary; password: string }>;
  list(person: Person): Promise<AppPasswordSummary[]>;
  revoke(person: Person, id: string, ip: string): Promise<void>;
  /** Revokes every app password of the person; `actor` names who did it when not the person (an administrator, "cli"). */
  revokeAll(person: Person, ip: string, actor?: string): Promise<number>;
}

export function createAppPasswords(deps: {
  store: AppPasswordStore;
  tokens: AppPasswordTokens;
  keyedHash: KeyedHash;
  audit: Audit;
  clock: Clock;
  random: Random;
  transactions: Pick<Transactions, 'run'>;
}): AppPasswords {
  const { store, keyedHash, audit, clock, random } = deps;
  const record = (person: Person, type: string, ip: string, detail: Record<string, unknown> = {}, actor?: string) =>
    audit.record({ type, orgId: person.orgId, userId: person.userId, ip, detail, actor });

  function newPassword(): string {
    // Rejection sampling keeps every symbol equally likely (256 is not a multiple of 31).
    let out = '';
    while (out.length < LENGTH) {
      for (const byte of random.bytes(LENGTH)) if (byte < 248 && out.length < LENGTH) out += ALPHABET[byte % 31];
    }
    return out.match(/.{4}/g)!.join(' ');
  }

  const mayCreate: AppPasswords['mayCreate'] = (org, hasTfa) => {
    if (org.appPasswords === 'none') return { allowed: false, reason: `${org.name} does not allow app passwords.` };
    if (org.appPasswords === 'tfa' && !hasTfa && !org.enforceTfa) {
      return {
        allowed: false,
        reason:
          'App passwords are for accounts with two-step verification. Turn it on first; until then mail apps can use your password.',
      };
    }
    return { allowed: true };
  };

  return {
    mayCreate,
    async create(person, org, hasTfa, raw, ip) {
      const verdict = mayCreate(org, hasTfa);
      if (!verdict.allowed) throw domainErrors.raise('app_passwords_off', { message: verdict.reason });
      const parsed = newAppPasswordSchema.safeParse(raw);
      if (!parsed.success) {
        const fields = Object.fromEntries(parsed.error.issues.map((i) => [String(i.path[0]), i.message]));
        throw domainErrors.raise('invalid_app_password', { fields });
      }
      const { name, scopes, expiresInDays } = parsed.data;
      const password = newPassword();
      const now = clock.now();
      const created: AppPasswordRecord = {
        id: random.uuid(),
        orgId: person.orgId,
        userId: person.userId,
        name,
        digest: keyedHash.digest('app-password', normalizeAppPassword(password)),
        scopes,
        createdAt: now,
        expiresAt: expiresInDays === null ? null : now + expiresInDays * DAY_MS,
        lastUsedAt: null,
        lastUsedIp: null,
        lastUsedProtocol: null,
      };
      // One transaction: no app password without its event (the security notice emails the person
      // about app_password.created once it commits), and no event for one that was never stored.
      await deps.transactions.run(async () => {
        await store.insertAppPassword(created);
        await record(person, 'app_password.created', ip, { id: created.id, name, scopes });
      });
      return { summary: summarize(created), password };
    },
    list: async (person) => (await store.findAppPasswords(person.orgId, person.userId)).map(summarize),
    async revoke(person, id, ip) {
      if (!(await store.deleteAppPassword(person.orgId, person.userId, id)))
        throw domainErrors.raise('unknown_app_password');
      await deps.tokens.revokeTokensOf(id);
      await record(person, 'app_password.revoked', ip, { id });
    },
    async revokeAll(person, ip, actor) {
      const ids = await store.deleteAllAppPasswords(person.orgId, person.userId);
      for (const id of ids) await deps.tokens.revokeTokensOf(id);
      if (ids.length > 0) await record(person, 'app_password.revoked', ip, { all: true, count: ids.length }, actor);
      return ids.length;
    },
  };
}
