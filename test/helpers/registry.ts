import { createAudit } from '../../src/domain/audit.ts';
import { createFactorRegistry, type FactorRegistry } from '../../src/factors/registry.ts';
import { createRecoveryCodes, type RecoveryCodes } from '../../src/factors/recovery-codes/recovery-codes.ts';
import { createTotpFactor } from '../../src/factors/totp/totp.ts';
import { createWebauthnFactor } from '../../src/factors/webauthn/webauthn.ts';
import type { Clock } from '../../src/ports/clock.ts';
import { createCryptoRandom } from '../../src/ports/random.ts';
import { createKeyedHash } from '../../src/security/keyed-hash.ts';
import { createSecretBox } from '../../src/security/secret-box.ts';
import { createSqlAuditStore } from '../../src/storage/sql/audit-store.ts';
import { createSqlEphemeralStore } from '../../src/storage/sql/ephemeral-store.ts';
import { createSqlFactorStore } from '../../src/storage/sql/factor-store.ts';
import { createSqlRecoveryCodeStore } from '../../src/storage/sql/recovery-code-store.ts';
import type { Database } from '../../src/storage/sql/tables.ts';

/**
 * A registry of real factors on the SQL stores, for unit tests of the method policy: an
 * authenticator app (typed codes), security keys (phishing-resistant) and recovery codes (the
 * backup that comes with them), in the deployment's order.
 */
export function createUnitRegistry(db: Database, clock: Clock): { registry: FactorRegistry; recovery: RecoveryCodes } {
  const random = createCryptoRandom();
  const store = createSqlFactorStore(db);
  const recovery = createRecoveryCodes({
    store: createSqlRecoveryCodeStore(db, random),
    keyedHash: createKeyedHash('r'.repeat(32)),
    clock,
    random,
    audit: createAudit({ store: createSqlAuditStore(db), clock, random }),
  });
  const registry = createFactorRegistry([
    createTotpFactor({
      store,
      box: createSecretBox(Buffer.alloc(32, 7)),
      clock,
      random,
      issuerFor: async () => 'Twofold',
    }),
    createWebauthnFactor({
      store,
      ephemeral: createSqlEphemeralStore(db, clock),
      clock,
      random,
      issuer: 'http://localhost',
    }),
    recovery,
  ]);
  return { registry, recovery };
}
