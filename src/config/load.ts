import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';

import { configSchema, type Config as RawConfig } from './schema.ts';

/** The configuration after validation, with derived values filled in. */
export type Config = Omit<RawConfig, 'issuer'> & { issuer: string };

/** Start-up refuses to continue; the message names the offending key. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const DEFAULTS_FILE = fileURLToPath(new URL('../../config/default.json', import.meta.url));

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Documentation entries ("//", "//key") are stripped before validation. */
function stripComments(value: Json): Json {
  if (Array.isArray(value)) return value.map(stripComments);
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !key.startsWith('//'))
      .map(([key, v]) => [key, stripComments(v)]),
  );
}

/** Objects merge key by key; arrays and scalars replace. */
function deepMerge(base: JsonObject, over: JsonObject): JsonObject {
  const out: JsonObject = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isObject(current) && isObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}

function readJsonFile(file: string): JsonObject {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${file}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(error as Error).message}`);
  }
  if (!isObject(parsed)) throw new ConfigError(`config file ${file} must hold a JSON object`);
  return stripComments(parsed) as JsonObject;
}

type Env = Record<string, string | undefined>;

function integerFromEnv(env: Env, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} (port): must be a whole number, got "${raw}"`);
  return Number(raw);
}

/** A comma-separated list (`REDIS_CLUSTER_NODES=redis://a:7000,redis://b:7001`), wrapped by `wrap`. */
function listFromEnv(raw: string | undefined, wrap: (items: string[]) => Json): Json | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  return wrap(
    raw
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  );
}

/**
 * OTLP exporter configuration: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is the URL as is; the base
 * OTEL_EXPORTER_OTLP_ENDPOINT gets the signal's path `v1/traces` appended.
 */
function tracesEndpointOf(base: string | undefined): string | undefined {
  if (base === undefined || base === '') return undefined;
  return `${base.replace(/\/+$/, '')}/v1/traces`;
}

/**
 * The environment variables that override common keys (DESIGN §4, plus HOST, REDIS_CLUSTER_NODES, the
 * OpenTelemetry exporter's standard OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT and OTEL_SERVICE_NAME, the webhook's URL and
 * secret, and the mail driver and from-address for containers).
 */
function overridesFromEnv(env: Env): JsonObject {
  const set = (value: string | undefined) => (value === undefined || value === '' ? undefined : value);
  const entries: [string[], Json | undefined][] = [
    [['environment'], env.NODE_ENV === 'production' ? 'production' : undefined],
    [['port'], integerFromEnv(env, 'PORT')],
    [['host'], set(env.HOST)],
    [['issuer'], set(env.TWOFOLD_ISSUER)],
    [['dataDir'], set(env.TWOFOLD_DATA_DIR)],
    [['database', 'url'], set(env.DATABASE_URL)],
    [['redis', 'url'], set(env.REDIS_URL)],
    [['redis', 'cluster'], listFromEnv(env.REDIS_CLUSTER_NODES, (nodes) => ({ nodes }))],
    [['delivery', 'driver'], set(env.TWOFOLD_DELIVERY)],
    [['delivery', 'webhook', 'url'], set(env.TWOFOLD_WEBHOOK_URL)],
    [['delivery', 'webhook', 'secret'], set(env.TWOFOLD_WEBHOOK_SECRET)],
    [['mail', 'driver'], set(env.TWOFOLD_MAIL)],
    [['metrics', 'token'], set(env.TWOFOLD_METRICS_TOKEN)],
    [
      ['tracing', 'otlpUrl'],
      set(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) ?? tracesEndpointOf(env.OTEL_EXPORTER_OTLP_ENDPOINT),
    ],
    [['tracing', 'serviceName'], set(env.OTEL_SERVICE_NAME)],
    [['mail', 'from'], set(env.TWOFOLD_MAIL_FROM)],
    [['mail', 'smtp', 'url'], set(env.SMTP_URL)],
    [['logLevel'], set(env.LOG_LEVEL)],
  ];
  let out: JsonObject = {};
  for (const [keys, value] of entries) {
    if (value === undefined) continue;
    const nested = keys.reduceRight<Json>((acc, key) => ({ [key]: acc }), value) as JsonObject;
    out = deepMerge(out, nested);
  }
  return out;
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
}

const isLoopback = (hostname: string) =>
  hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);

function assertRedisMode(config: Config): void {
  const { url, cluster, keyPrefix } = config.redis;
  if (url && cluster) {
    throw new ConfigError(
      'redis.cluster: set either redis.url (REDIS_URL) or redis.cluster (REDIS_CLUSTER_NODES), not both',
    );
  }
  // A hash tag in the prefix would put every key of the deployment in one slot, on one node.
  if (cluster && /[{}]/.test(keyPrefix)) {
    throw new ConfigError(
      'redis.keyPrefix: must not hold "{" or "}" with redis.cluster (all keys would share one node)',
    );
  }
}

function assertProductionSafe(config: Config): void {
  if (config.environment !== 'production') return;
  if (config.delivery.driver === 'outbox') {
    throw new ConfigError('delivery.driver: the outbox driver is for development; production needs "webhook"');
  }
  if (config.mail.driver === 'outbox') {
    throw new ConfigError('mail.driver: the outbox driver is for development; production needs "smtp" (SMTP_URL)');
  }
  const smtp = config.mail.smtp.url === null ? null : new URL(config.mail.smtp.url);
  if (smtp && !config.mail.smtp.requireTls && !isLoopback(smtp.hostname)) {
    throw new ConfigError('mail.smtp.requireTls: production sends mail over TLS except to a relay on this host');
  }
  const issuer = new URL(config.issuer);
  if (issuer.protocol !== 'https:' && issuer.hostname !== 'localhost') {
    throw new ConfigError('issuer: production needs an https:// issuer');
  }
}

/**
 * Reads `config/default.json`, then the file named by TWOFOLD_CONFIG, then environment overrides,
 * and validates the result. Throws ConfigError naming the key on the first bad value.
 */
export function loadConfig(options: { env: Env; cwd: string; overrides?: JsonObject }): Config {
  let merged = readJsonFile(DEFAULTS_FILE);
  const extra = options.env.TWOFOLD_CONFIG;
  if (extra) merged = deepMerge(merged, readJsonFile(path.resolve(options.cwd, extra)));
  merged = deepMerge(merged, overridesFromEnv(options.env));
  if (options.overrides) merged = deepMerge(merged, options.overrides);

  const result = configSchema.safeParse(merged);
  if (!result.success) throw new ConfigError(`invalid configuration: ${describeIssues(result.error)}`);
  const raw = result.data;

  const config: Config = {
    ...raw,
    issuer: (raw.issuer ?? `http://localhost:${raw.port}`).replace(/\/+$/, ''),
    dataDir: path.resolve(options.cwd, raw.dataDir),
  };
  if (config.delivery.driver === 'webhook' && (!config.delivery.webhook.url || !config.delivery.webhook.secret)) {
    throw new ConfigError('delivery.webhook: the webhook driver needs both url and secret');
  }
  if (config.mail.driver === 'smtp' && (!config.mail.smtp.url || !config.mail.from)) {
    throw new ConfigError('mail: the smtp driver needs both smtp.url (SMTP_URL) and from');
  }
  assertRedisMode(config);
  assertProductionSafe(config);
  return config;
}
