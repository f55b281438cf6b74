/** App passwords of mail and calendar clients: only their keyed hash is stored, never the password. */

import type { UserWithOrganization } from './stores.ts';

/** What an app password may be used for, carried as the scopes of the tokens it gets (RFC 6749 §3.3). */
export const PROTOCOL_SCOPES = ['imap', 'pop3', 'smtp', 'dav', 'activesync'] as const;
export type ProtocolScope = (typeof PROTOCOL_SCOPES)[number];

export interface AppPasswordRecord {
  id: string;
  orgId: string;
  userId: string;
  /** The person's name for it ("Thunderbird on laptop"). */
  name: string;
  /** HMAC-SHA-256 of the normalized password under the deployment's pepper; unique. */
  digest: string;
  scopes: ProtocolScope[];
  createdAt: number;
  /** Null: never expires. */
  expiresAt: number | null;
  lastUsedAt: number | null;
  lastUsedIp: string | null;
  lastUsedProtocol: string | null;
}

export interface AppPasswordUse {
  id: string;
  at: number;
  ip: string;
  protocol: string;
}

export interface AppPasswordOwner {
  record: AppPasswordRecord;
  account: UserWithOrganization;
  hasActiveFactor: boolean;
}

export interface AppPasswordStore {
  insertAppPassword(record: AppPasswordRecord): Promise<void>;
  /** The person's app passwords, newest first. */
  findAppPasswords(orgId: string, userId: string): Promise<AppPasswordRecord[]>;
  /** The app password with this digest, whoever's it is: the digest of a high-entropy secret is its identifier. */
  findAppPasswordByDigest(digest: string): Promise<AppPasswordRecord | undefined>;
  /**
   * The same, with its owner, their organization and whether they have an active second factor,
   * in one read: this is the legacy grant's hot path (one IMAP login, one call).
   */
  findAppPasswordOwner(digest: string): Promise<AppPasswordOwner | undefined>;
  deleteAppPassword(orgId: string, userId: string, id: string): Promise<boolean>;
  /** Deletes every app password of the person; returns the ids that were deleted. */
  deleteAllAppPasswords(orgId: string, userId: string): Promise<string[]>;
  /** Records last uses in one write (batched off the grant's path); a use of a deleted password is dropped. */
  recordAppPasswordUses(uses: AppPasswordUse[]): Promise<void>;
}
