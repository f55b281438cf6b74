import type { Logger } from 'pino';

import type { Config } from '../config/load.ts';
import { createOutboxSender } from '../delivery/outbox.ts';
import { createWebhookSender } from '../delivery/webhook.ts';
import type { Clock } from '../ports/clock.ts';
import type { FactorStore } from '../ports/factor-stores.ts';
import type { MessageSender } from '../ports/message-sender.ts';
import type { Random } from '../ports/random.ts';
import type { KeyedHash } from '../ports/keyed-hash.ts';
import type { SecretBox } from '../ports/secret-box.ts';
import type { Storage } from '../storage/open.ts';
import { createSqlFactorStore } from '../storage/sql/factor-store.ts';
import { createSqlRecoveryCodeStore } from '../storage/sql/recovery-code-store.ts';
import type { Database } from '../storage/sql/tables.ts';
import { createPhoneFactor, type PhoneFactor } from './phone/phone.ts';
import { createRecoveryCodes, type RecoveryCodes } from './recovery-codes/recovery-codes.ts';
import { createTotpFactor, type TotpFactor } from './totp/totp.ts';
import { createWebauthnFactor, type WebauthnFactor } from './webauthn/webauthn.ts';

/** Every second factor, each its own module, over the shared factor store. */
export interface Factors {
  store: FactorStore;
  totp: TotpFactor;
  phone: PhoneFactor;
  webauthn: WebauthnFactor;
  recovery: RecoveryCodes;
}

function createSender(config: Config, clock: Clock, logger: Logger): MessageSender {
  const { driver, webhook } = config.delivery;
  if (driver === 'webhook') return createWebhookSender({ url: webhook.url!, secret: webhook.secret!, timeoutMs: webhook.timeoutMs, retries: webhook.retries, clock, logger });
  return createOutboxSender({ dataDir: config.dataDir, clock, logger });
}

export function createFactors(deps: {
  config: Config;
  db: Database;
  storage: Storage;
  box: SecretBox;
  keyedHash: KeyedHash;
  clock: Clock;
  random: Random;
  logger: Logger;
}): Factors {
  const { config, db, storage, box, keyedHash, clock, random } = deps;
  const store = createSqlFactorStore(db);
  return {
    store,
    totp: createTotpFactor({ store, box, clock, random, issuerName: 'Twofold' }),
    phone: createPhoneFactor({
      store,
      ephemeral: storage.ephemeral,
      counter: storage.counter,
      sender: createSender(config, clock, deps.logger),
      keyedHash,
      clock,
      random,
      limits: config.delivery.limits,
    }),
    webauthn: createWebauthnFactor({ store, ephemeral: storage.ephemeral, clock, random, issuer: config.issuer }),
    recovery: createRecoveryCodes({ store: createSqlRecoveryCodeStore(db, random), keyedHash, clock, random }),
  };
}
