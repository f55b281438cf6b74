import { randomBytes, randomUUID } from 'node:crypto';

import { newFactor } from '../../src/factors/factor.ts';
import type {
  FactorRecord,
  FactorStore,
  RecoveryCodeStore,
  TrustedBrowser,
  TrustedBrowserStore,
} from '../../src/ports/factor-stores.ts';
import { createCryptoRandom } from '../../src/ports/random.ts';
import type { Organization } from '../../src/ports/stores.ts';
import { createSqlFactorStore } from '../../src/storage/sql/factor-store.ts';
import { createSqlRecoveryCodeStore } from '../../src/storage/sql/recovery-code-store.ts';
import type { Database } from '../../src/storage/sql/tables.ts';
import { createSqlTrustedBrowserStore } from '../../src/storage/sql/trusted-browser-store.ts';
import { mapBackend, sqlBackends, type Backend } from '../contract/backends.ts';
import { createTestClock } from './clock.ts';
import { insertOrganization, insertPerson } from './people.ts';

/**
 * Fixtures for the second-factor stores' contract suites (factor-stores.contract.test.ts,
 * recovery-and-trusted-browsers.contract.test.ts): the stores on SQLite and PostgreSQL, and people
 * in organizations to own factors, recovery codes and trusted browsers.
 */
export interface Subject {
  db: Database;
  factors: FactorStore;
  recovery: RecoveryCodeStore;
  trusted: TrustedBrowserStore;
}

/** SQLite in memory and PostgreSQL in a fresh schema, with the three stores on each. Call at module top level. */
export function factorStoreBackends(): Backend<Subject>[] {
  return sqlBackends().map((backend) =>
    mapBackend(backend, ({ db }) => ({
      db,
      factors: createSqlFactorStore(db),
      recovery: createSqlRecoveryCodeStore(db, createCryptoRandom()),
      trusted: createSqlTrustedBrowserStore(db),
    })),
  );
}

export const T0 = Date.UTC(2031, 0, 1);
export const DAY = 86_400_000;

export interface Owner {
  orgId: string;
  userId: string;
}

/** Alice and Bob share an organization; Carol is in another one. */
export async function threePeople(db: Database) {
  const ownerIn = async (organization?: Organization): Promise<Owner> => {
    const { orgId, userId } = await insertPerson(db, organization);
    return { orgId, userId };
  };
  const shared = await insertOrganization(db);
  return { alice: await ownerIn(shared), bob: await ownerIn(shared), carol: await ownerIn() };
}

export function aFactor(owner: Owner, overrides: Partial<FactorRecord> = {}): FactorRecord {
  const person = { ...owner, email: 'owner@example.com' };
  return newFactor({ random: createCryptoRandom(), clock: createTestClock(T0) }, person, 'totp', 'Authenticator app', {
    active: true,
    sealedSecret: 'v1.nonce.tag.ciphertext',
    ...overrides,
  });
}

export const aKey = (owner: Owner, overrides: Partial<FactorRecord> = {}) =>
  aFactor(owner, {
    kind: 'webauthn',
    label: 'YubiKey 5',
    sealedSecret: null,
    credentialId: randomBytes(16).toString('base64url'),
    publicKey: 'pQECAyYgASFYIA',
    counter: 0,
    transports: ['usb', 'nfc'],
    ...overrides,
  });

export function aBrowser(owner: Owner, overrides: Partial<TrustedBrowser> = {}): TrustedBrowser {
  return {
    id: randomUUID(),
    orgId: owner.orgId,
    userId: owner.userId,
    tokenHash: randomBytes(32).toString('hex'),
    label: 'Firefox on Linux',
    createdAt: T0,
    expiresAt: T0 + 30 * DAY,
    lastUsedAt: null,
    ...overrides,
  };
}

/** Runs `n` calls at once. */
export const race = <T>(n: number, run: () => Promise<T>) => Promise.all(Array.from({ length: n }, run));
export const wins = (results: boolean[]) => results.filter(Boolean).length;
