import type {
  AppPasswordRecord,
  AppPasswordStore,
  AppPasswordUse,
  ProtocolScope,
} from '../ports/app-password-store.ts';
import type { Clock } from '../ports/clock.ts';
import type { KeyedHash } from '../ports/keyed-hash.ts';
import { normalizeEmail, type Organization, type UserWithOrganization } from '../ports/stores.ts';
import type { Accounts } from './accounts.ts';
import { looksLikeAppPassword, normalizeAppPassword } from './app-passwords.ts';
import { isPasswordExpired } from './passwords/expiry.ts';
import type { Throttle } from './throttle.ts';
import { StoreUnavailableError } from '../ports/store-unavailable.ts';

/** A legacy client signed in: whose account, with which app password (null: the account password), for what. */
export interface LegacyGrant {
  account: UserWithOrganization;
  appPassword: AppPasswordRecord | null;
  scopes: ProtocolScope[];
}

/** Every refusal is the same to the client (RFC 6749 §5.2 invalid_grant); the reason is for the audit trail. */
export type LegacyOutcome = { ok: true; grant: LegacyGrant } | { ok: false; reason: 'invalid' | 'throttled' };

export interface LegacySignIn {
  /**
   * Checks username + password from a mail or calendar server: an app password (any person the
   * organization lets have them), or the account password only where no TFA applies and the
   * organization allows it. `scopes`, when asked for, narrow what the app password allows.
   */
  authenticate(input: {
    username: string;
    password: string;
    ip: string;
    scopes: ProtocolScope[] | null;
    protocol: string;
  }): Promise<LegacyOutcome>;
}

/** Collects last uses and writes them in batches, off the grant's path. */
export interface UseRecorder {
  add(use: AppPasswordUse): void;
  flush(): Promise<void>;
}

export function createUseRecorder(deps: {
  store: Pick<AppPasswordStore, 'recordAppPasswordUses'>;
  onError(error: unknown): void;
}): UseRecorder {
  // The latest use per app password since the last flush: a busy IMAP server writes once per flush.
  let pending = new Map<string, AppPasswordUse>();
  return {
    add: (use) => void pending.set(use.id, use),
    async flush() {
      if (pending.size === 0) return;
      const batch = [...pending.values()];
      pending = new Map();
      try {
        await deps.store.recordAppPasswordUses(batch);
      } catch (error) {
        // The database is away: the uses wait for the next flush (a use recorded since is newer and wins).
        if (error instanceof StoreUnavailableError)
          for (const use of batch) if (!pending.has(use.id)) pending.set(use.id, use);
        deps.onError(error);
      }
    },
  };
}

const tfaApplies = (org: Organization, hasTfa: boolean) => hasTfa || org.enforceTfa;

export function createLegacySignIn(deps: {
  store: AppPasswordStore;
  accounts: Pick<Accounts, 'checkPassword' | 'recordThrottled'>;
  hasTfa(account: UserWithOrganization): Promise<boolean>;
  keyedHash: KeyedHash;
  throttle: Throttle;
  uses: UseRecorder;
  clock: Clock;
}): LegacySignIn {
  const { store, keyedHash, clock } = deps;

  /** A live app password of this username, allowed by its organization now; a high-entropy secret needs no throttle. */
  async function byAppPassword(username: string, normalized: string): Promise<LegacyGrant | undefined> {
    const owned = await store.findAppPasswordOwner(keyedHash.digest('app-password', normalized));
    if (!owned) return undefined;
    const { record, account, hasActiveFactor } = owned;
    // A disabled person's app passwords stay (for when they are enabled again) but sign nothing in.
    if (account.user.disabledAt !== null) return undefined;
    if (record.expiresAt !== null && record.expiresAt <= clock.now()) return undefined;
    if (normalizeEmail(account.user.email) !== normalizeEmail(username)) return undefined;
    const { appPasswords } = account.organization;
    if (appPasswords === 'none') return undefined;
    if (appPasswords === 'tfa' && !tfaApplies(account.organization, hasActiveFactor)) return undefined;
    return { account, appPassword: record, scopes: record.scopes };
  }

  /** The account password itself, only where the organization allows it and no TFA applies. */
  async function byAccountPassword(username: string, password: string, ip: string): Promise<LegacyGrant | undefined> {
    const checked = await deps.accounts.checkPassword({ email: username, password, ip, via: 'mail_app' });
    if (!checked.ok) return undefined;
    const { account } = checked;
    if (!account.organization.legacyPasswordAccess) return undefined;
    if (tfaApplies(account.organization, await deps.hasTfa(account))) return undefined;
    // An expired password is renewed at the web sign-in, which a mail server cannot offer (app passwords never expire).
    if (isPasswordExpired(account, clock.now())) return undefined;
    return { account, appPassword: null, scopes: ['imap', 'pop3', 'smtp', 'dav', 'activesync'] };
  }

  return {
    async authenticate({ username, password, ip, scopes, protocol }) {
      const normalized = normalizeAppPassword(password);
      let grant = looksLikeAppPassword(normalized) ? await byAppPassword(username, normalized) : undefined;
      if (!grant) {
        // Wrong, revoked, expired, or an account password: guessing is rationed per username and
        // per address, on a budget of its own (the person's web sign-in never slows down for it).
        const attempt = await deps.throttle.attempt({ account: normalizeEmail(username), ip }, async () => {
          // An account password may happen to look like an app password: check it all the same.
          const found = await byAccountPassword(username, password, ip);
          return found ? { ok: true as const, found } : { ok: false as const };
        });
        if (attempt.status !== 'checked') {
          const wait = attempt.status === 'wait' ? attempt.seconds : 1;
          if (attempt.report)
            await deps.accounts.recordThrottled(username, {
              method: 'password',
              via: 'mail_app',
              retryAfterSeconds: wait,
              concurrent: attempt.status === 'busy',
            });
          return { ok: false, reason: 'throttled' };
        }
        if (!attempt.outcome.ok) return { ok: false, reason: 'invalid' };
        grant = attempt.outcome.found;
      }
      const allowed = scopes === null ? grant.scopes : grant.scopes.filter((s) => scopes.includes(s));
      if (allowed.length === 0) return { ok: false, reason: 'invalid' };
      if (grant.appPassword) deps.uses.add({ id: grant.appPassword.id, at: clock.now(), ip, protocol });
      return { ok: true, grant: { ...grant, scopes: allowed } };
    },
  };
}
