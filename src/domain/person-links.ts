import type { Clock } from '../ports/clock.ts';
import type { KeyedHash } from '../ports/keyed-hash.ts';
import type { PersonTokenPurpose, PersonTokenRecord, PersonTokenStore } from '../ports/person-token-store.ts';
import type { Random } from '../ports/random.ts';
import type { Organization, UserStore, UserWithOrganization } from '../ports/stores.ts';
import { domainErrors } from './error-codes.ts';

/** A link's secret as it appears in the URL: 32 random bytes in base64url. */
const SECRET = /^[A-Za-z0-9_-]{43}$/;
const USER_ID = /^[0-9a-f-]{36}$/;

/** What an emailed link is for (a temporary access code is read out, never emailed). */
export type LinkPurpose = Extract<PersonTokenPurpose, 'password_reset' | 'invitation'>;

/** A live link and the person it was issued to. */
export interface LiveLink {
  record: PersonTokenRecord;
  account: UserWithOrganization;
}

/** A link just issued: its secret (for the email only) and the address it is written into. */
export interface IssuedLink {
  record: PersonTokenRecord;
  url: string;
}

/**
 * Emailed one-time links (password reset, invitation): 32 random bytes, of which only a keyed hash
 * is stored (so a copy of the database opens no link), spent once by an atomic update, and only the
 * newest of a person's links of one purpose works (NIST SP 800-63B §3.1.1.2 recovery by a secret
 * sent to the person; OWASP Forgot Password Cheat Sheet).
 */
export interface PersonLinks {
  /** The stored form of a secret from a URL, or undefined when it cannot be one of ours. */
  hashOf(purpose: LinkPurpose, secret: string): string | undefined;
  /** Issues a new link; the person's older live links of the purpose stop working. */
  issue(
    person: { orgId: string; userId: string },
    purpose: LinkPurpose,
    ttlMs: number,
    createdBy: string | null,
  ): Promise<IssuedLink>;
  /** Builds a link that is not stored yet (an invitation is written together with its person). */
  prepare(
    person: { orgId: string; userId: string },
    purpose: LinkPurpose,
    ttlMs: number,
    createdBy: string | null,
  ): IssuedLink;
  /** The live link of this hash and its person; undefined once used, expired, replaced or unknown. */
  find(purpose: LinkPurpose, tokenHash: string): Promise<LiveLink | undefined>;
  /** The person's live link of a purpose, if any (the console shows until when it works). */
  liveOf(orgId: string, userId: string, purpose: LinkPurpose): Promise<PersonTokenRecord | undefined>;
  /** A person of the organization for an administrator's action; anyone else is not found (404). */
  member(org: Organization, userId: string): Promise<UserWithOrganization>;
}

const PATHS: Record<LinkPurpose, string> = {
  password_reset: 'reset-password',
  invitation: 'invitation',
};

export function createPersonLinks(deps: {
  tokens: PersonTokenStore;
  users: Pick<UserStore, 'findUserBySubject'>;
  keyedHash: KeyedHash;
  random: Random;
  clock: Clock;
  issuer: string;
}): PersonLinks {
  const { tokens, keyedHash, random, clock } = deps;
  const digest = (purpose: LinkPurpose, secret: string) => keyedHash.digest(`person-link:${purpose}`, secret);

  const prepare: PersonLinks['prepare'] = (person, purpose, ttlMs, createdBy) => {
    const secret = random.token(32);
    const now = clock.now();
    const record: PersonTokenRecord = {
      id: random.uuid(),
      orgId: person.orgId,
      userId: person.userId,
      purpose,
      tokenHash: digest(purpose, secret),
      createdAt: now,
      expiresAt: now + ttlMs,
      usedAt: null,
      createdBy,
    };
    return { record, url: `${deps.issuer}/${PATHS[purpose]}/${secret}` };
  };

  return {
    hashOf: (purpose, secret) => (SECRET.test(secret) ? digest(purpose, secret) : undefined),
    prepare,
    async issue(person, purpose, ttlMs, createdBy) {
      const link = prepare(person, purpose, ttlMs, createdBy);
      await tokens.insertPersonToken(link.record);
      return link;
    },
    async find(purpose, tokenHash) {
      const record = await tokens.findLivePersonToken(purpose, tokenHash, clock.now());
      const account = record && (await deps.users.findUserBySubject(record.userId));
      return record && account?.organization.id === record.orgId ? { record, account } : undefined;
    },
    liveOf: (orgId, userId, purpose) => tokens.findLivePersonTokenOf(orgId, userId, purpose, clock.now()),
    async member(org, userId) {
      const found = USER_ID.test(userId) ? await deps.users.findUserBySubject(userId) : undefined;
      if (!found || found.organization.id !== org.id) throw domainErrors.raise('unknown_person');
      return found;
    },
  };
}
