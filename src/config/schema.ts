import { z } from 'zod';

/**
 * The whole configuration, validated. Every key is documented next to its default in
 * `config/default.json`; this schema is the single source of truth for types and ranges.
 */
const seconds = (max: number) => z.number().int().min(1).max(max);
/** A time limit on a store or a mail server: long enough for a slow answer, short enough to give up. */
const milliseconds = z.number().int().min(100).max(120_000);

const throttleRule = z.strictObject({
  freeAttempts: z.number().int().min(1).max(10_000),
  windowSeconds: seconds(86_400),
  maxDelaySeconds: seconds(86_400),
});

const urlString = (protocols: string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`,
  );

/**
 * A From header value: `Name <address>` or a bare address, on one line (a line break would let the
 * value add headers of its own: header injection, RFC 5322 §2.2).
 */
const fromAddress = z
  .string()
  .max(320)
  .regex(
    /^(?:[^<>\r\n]*<[^\s<>@]+@[^\s<>@]+>|[^\s<>@]+@[^\s<>@]+)$/,
    'must be "Name <address@example.com>" or an address',
  );

export const configSchema = z.strictObject({
  environment: z.enum(['development', 'production']),
  port: z.number().int().min(0).max(65_535),
  host: z.string().min(1),
  issuer: urlString(['http:', 'https:'])
    .refine((value) => !value.includes('?') && !value.includes('#'), 'must not have a query or fragment')
    .nullable(),
  dataDir: z.string().min(1),
  trustProxy: z.boolean(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  database: z.strictObject({
    url: urlString(['postgres:', 'postgresql:']).nullable(),
    poolSize: z.number().int().min(1).max(1000),
    connectTimeoutMs: milliseconds,
    queryTimeoutMs: milliseconds,
  }),
  redis: z.strictObject({
    url: urlString(['redis:', 'rediss:']).nullable(),
    cluster: z
      .strictObject({
        nodes: z
          .array(urlString(['redis:', 'rediss:']))
          .min(1, 'must name at least one node of the cluster')
          .max(64)
          .refine(
            (urls) => new Set(urls.map((url) => URL.canParse(url) && new URL(url).protocol)).size === 1,
            'must all use the same scheme (redis:// or rediss://)',
          ),
      })
      .nullable(),
    keyPrefix: z.string().max(64),
    connectTimeoutMs: milliseconds,
    commandTimeoutMs: milliseconds,
  }),
  secrets: z.strictObject({
    cookieKeys: z.array(z.string().min(32)).nullable(),
    jwks: z.strictObject({ keys: z.array(z.record(z.string(), z.unknown())).min(1) }).nullable(),
    encryptionKey: z
      .string()
      .regex(/^[A-Za-z0-9_-]{43}$/, 'must be 32 bytes in base64url')
      .nullable(),
    hmacPepper: z.string().min(32).nullable(),
  }),
  passwords: z.strictObject({
    minLength: z.number().int().min(8).max(64),
    minLengthWithTfa: z.number().int().min(8).max(64),
    maxLength: z.number().int().min(64).max(1024),
    argon2: z.strictObject({
      memoryCost: z.number().int().min(7168).max(4_194_304),
      timeCost: z.number().int().min(1).max(10),
      parallelism: z.number().int().min(1).max(16),
    }),
  }),
  throttle: z.strictObject({ account: throttleRule, ip: throttleRule }),
  ttl: z.strictObject({
    authorizationCode: seconds(600),
    accessToken: seconds(86_400),
    idToken: seconds(86_400),
    refreshToken: seconds(365 * 86_400),
    session: seconds(365 * 86_400),
    interaction: seconds(86_400),
    grant: seconds(365 * 86_400),
  }),
  setup: z.strictObject({ linkTtlSeconds: seconds(86_400) }),
  stepUp: z.strictObject({ maxAgeSeconds: seconds(3600) }),
  legacy: z.strictObject({ accessTokenTtl: seconds(3600), useFlushSeconds: seconds(600) }),
  delivery: z.strictObject({
    driver: z.enum(['outbox', 'webhook']),
    limits: z.strictObject({
      perAccount: z.number().int().min(1).max(1000),
      perNumber: z.number().int().min(1).max(1000),
      perIp: z.number().int().min(1).max(100_000),
    }),
    webhook: z.strictObject({
      url: urlString(['http:', 'https:']).nullable(),
      secret: z.string().min(16).nullable(),
      timeoutMs: z.number().int().min(100).max(60_000),
      retries: z.number().int().min(0).max(10),
    }),
  }),
  metrics: z.strictObject({ token: z.string().min(32, 'must be at least 32 characters').nullable() }),
  tracing: z.strictObject({
    otlpUrl: urlString(['http:', 'https:']).nullable(),
    serviceName: z.string().min(1).max(100),
  }),
  mail: z.strictObject({
    driver: z.enum(['outbox', 'smtp']),
    from: fromAddress.nullable(),
    smtp: z.strictObject({
      url: urlString(['smtp:', 'smtps:']).nullable(),
      requireTls: z.boolean(),
      connectionTimeoutMs: milliseconds,
      greetingTimeoutMs: milliseconds,
      socketTimeoutMs: milliseconds,
    }),
  }),
});

export type Config = z.infer<typeof configSchema>;
