import type { Logger } from 'pino';

import type { Config } from '../config/load.ts';
import { createOutboxSender } from '../delivery/outbox.ts';
import { createWebhookSender } from '../delivery/webhook.ts';
import type { AccessCodes } from '../domain/access-codes.ts';
import { createAccessCodeFactor } from '../factors/access-code/access-code.ts';
import type { Factor } from '../factors/factor.ts';
import { createPhoneFactor } from '../factors/phone/phone.ts';
import type { RecoveryCodes } from '../factors/recovery-codes/recovery-codes.ts';
import { createTotpFactor } from '../factors/totp/totp.ts';
import { createWebauthnFactor } from '../factors/webauthn/webauthn.ts';
import type { Clock } from '../ports/clock.ts';
import type { EphemeralStore } from '../ports/ephemeral-store.ts';
import type { FactorStore } from '../ports/factor-stores.ts';
import type { KeyedHash } from '../ports/keyed-hash.ts';
import type { MessageSender } from '../ports/message-sender.ts';
import type { Random } from '../ports/random.ts';
import type { SecretBox } from '../ports/secret-box.ts';
import type { OrganizationStore } from '../ports/stores.ts';
import type { Storage } from '../storage/open.ts';

/** What an added factor may build on. */
export interface ExtraFactorDeps {
  store: FactorStore;
  ephemeral: EphemeralStore;
  clock: Clock;
  random: Random;
}

/**
 * The deployment's factors, in the order the pages offer them; recovery codes come with the first,
 * and an administrator's temporary access code is offered last.
 */
export function createFactors(deps: {
  config: Config;
  store: FactorStore;
  /** The TOTP issuer is the person's organization's name. */
  organizations: Pick<OrganizationStore, 'findOrganizationById'>;
  recovery: RecoveryCodes;
  accessCodes: AccessCodes;
  storage: Storage;
  box: SecretBox;
  keyedHash: KeyedHash;
  sender: MessageSender;
  clock: Clock;
  random: Random;
  extra: ExtraFactorDeps;
  extraFactors: Array<(deps: ExtraFactorDeps) => Factor>;
}): Factor[] {
  const { config, store, storage, keyedHash, clock, random } = deps;
  const phone = (channel: 'sms' | 'voice') =>
    createPhoneFactor({
      channel,
      store,
      ephemeral: storage.ephemeral,
      counter: storage.counter,
      sender: deps.sender,
      keyedHash,
      clock,
      random,
      limits: config.delivery.limits,
      defaultCountryFor: async (person) =>
        (await deps.organizations.findOrganizationById(person.orgId))?.defaultCountry ?? null,
    });
  return [
    createTotpFactor({
      store,
      box: deps.box,
      clock,
      random,
      issuerFor: async (person) => (await deps.organizations.findOrganizationById(person.orgId))?.name ?? 'Twofold',
    }),
    phone('sms'),
    phone('voice'),
    createWebauthnFactor({ store, ephemeral: storage.ephemeral, clock, random, issuer: config.issuer }),
    ...deps.extraFactors.map((build) => build(deps.extra)),
    deps.recovery,
    createAccessCodeFactor({ codes: deps.accessCodes }),
  ];
}

/** Where SMS and voice codes go: the webhook of a real provider, or the development outbox file. */
export function createSender(config: Config, clock: Clock, logger: Logger): MessageSender {
  const { driver, webhook } = config.delivery;
  if (driver === 'webhook')
    return createWebhookSender({
      url: webhook.url!,
      secret: webhook.secret!,
      timeoutMs: webhook.timeoutMs,
      retries: webhook.retries,
      clock,
      logger,
    });
  return createOutboxSender({ dataDir: config.dataDir, clock, logger });
}
