import type { RawRequest } from './raw-http.ts';

/** mulberry32: a small seeded PRNG, so that every run sends the same requests (a failure replays). */
export function createPrng(seed: number): { next(): number; pick<T>(items: readonly T[], count: number): T[] } {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    /** `count` items in a seeded order (all of them when there are fewer). */
    pick(items, count) {
      const copy = [...items];
      for (let i = copy.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [copy[i], copy[j]] = [copy[j]!, copy[i]!];
      }
      return copy.slice(0, count);
    },
  };
}

export type Encoding = 'query' | 'form' | 'json';

/** A realistic request to one route in one state, before it is mutated. */
export interface BaseRequest {
  method: string;
  /** The route's path with its parameters filled in, segment by segment (already escaped). */
  segments: string[];
  /** Indexes of `segments` that came from a :param. */
  params: number[];
  headers: Record<string, string>;
  /** Field name and value, in order (a name may repeat). */
  fields: Array<[string, string]>;
  encoding: Encoding;
}

export interface Mutation {
  name: string;
  request: RawRequest;
}

const MB = 1024 * 1024;
const pct = (s: string) => encodeURIComponent(s);
const formOf = (fields: Array<[string, string]>) => fields.map(([k, v]) => `${pct(k)}=${pct(v)}`).join('&');
const jsonOf = (fields: Array<[string, unknown]>) => JSON.stringify(Object.fromEntries(fields));

/** Field values of the wrong type or shape, as form text (escaped already where marked raw). */
const FORM_VALUES: Array<[string, (v: string) => string]> = [
  ['empty', () => ''],
  ['negative', () => '-1'],
  ['huge number', () => '1e400'],
  ['long digits', () => '9'.repeat(400)],
  ['NaN', () => 'NaN'],
  ['30 kB', () => 'x'.repeat(30_000)],
  ['NUL bytes', (v) => `${v}\u0000\u0000`],
  ['emoji and RTL', (v) => `${v}\u{1F600}\u202E\u0301`],
  ['proto', () => '__proto__'],
  ['spaces', () => '   '],
  ['html', () => '<script>alert(1)</script>"\''],
  ['unicode email', () => 'ä@ö.example'],
];

/** Raw (already escaped) form fragments that decode badly: invalid UTF-8, broken escapes. */
const RAW_VALUES: Array<[string, string]> = [
  ['invalid UTF-8', '%FF%FE%C3%28'],
  ['broken escape', '%E0%A4%A'],
  ['lone percent', '%'],
  ['bad escape', '%zz%G1'],
  ['overlong NUL', '%C0%80'],
  ['lone surrogate', '%ED%A0%80'],
];

const JSON_VALUES: Array<[string, unknown]> = [
  ['number', 12345],
  ['boolean', true],
  ['null', null],
  ['array', ['a', 'b']],
  ['object', { a: { b: 'c' } }],
  ['30 kB', 'x'.repeat(30_000)],
  ['negative', -1],
  ['float', 1.5e308],
];

/** The request line and headers of `base`, with the fields sent the way its encoding says. */
function build(
  base: BaseRequest,
  options: {
    segments?: string[];
    query?: string;
    body?: Buffer;
    contentType?: string;
    headers?: Record<string, string>;
  },
): RawRequest {
  const path = `/${(options.segments ?? base.segments).join('/')}`;
  const query = options.query ?? (base.encoding === 'query' ? formOf(base.fields) : '');
  const body = options.body ?? (base.encoding === 'query' ? undefined : bodyOf(base, base.fields));
  const headers: Record<string, string> = { ...base.headers, ...options.headers };
  const contentType =
    options.contentType ??
    (base.encoding === 'json'
      ? 'application/json'
      : base.encoding === 'form'
        ? 'application/x-www-form-urlencoded'
        : undefined);
  if (body && contentType) headers['content-type'] = contentType;
  return { method: base.method, target: query ? `${path}?${query}` : path, headers, body };
}

function bodyOf(base: BaseRequest, fields: Array<[string, unknown]>): Buffer {
  return Buffer.from(base.encoding === 'json' ? jsonOf(fields) : formOf(fields as Array<[string, string]>));
}

/** Sends `fields` (some values raw, already escaped) where the base sends its fields. */
function withFields(base: BaseRequest, fields: Array<[string, string, 'raw'?]>): RawRequest {
  const text = fields.map(([k, v, raw]) => `${pct(k)}=${raw ? v : pct(v)}`).join('&');
  if (base.encoding === 'query') return build(base, { query: text });
  if (base.encoding === 'json') {
    return build(base, { body: Buffer.from(jsonOf(fields.map(([k, v, raw]) => [k, raw ? decodeLoosely(v) : v]))) });
  }
  return build(base, { body: Buffer.from(text) });
}

const decodeLoosely = (raw: string) =>
  Buffer.from(
    raw.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
    'latin1',
  ).toString('latin1');

/** Mutations of each field: missing, repeated, wrong types, huge, bad encodings. */
export function fieldMutations(base: BaseRequest, field: string): Mutation[] {
  const others = base.fields.filter(([k]) => k !== field);
  const value = base.fields.find(([k]) => k === field)?.[1] ?? '';
  const set = (v: string, raw?: 'raw'): Array<[string, string, 'raw'?]> => [...others, [field, v, raw]];
  const out: Mutation[] = [
    { name: `${field}: missing`, request: withFields(base, others) },
    { name: `${field}: repeated`, request: withFields(base, [...others, [field, value], [field, `${value}2`]]) },
    {
      name: `${field}: as array`,
      request: withFields(base, [...others, [`${field}[]`, value], [`${field}[]`, value]]),
    },
    { name: `${field}: as object`, request: withFields(base, [...others, [`${field}[a][b]`, value]]) },
    ...FORM_VALUES.map(([name, make]) => ({ name: `${field}: ${name}`, request: withFields(base, set(make(value))) })),
    ...RAW_VALUES.map(([name, raw]) => ({ name: `${field}: ${name}`, request: withFields(base, set(raw, 'raw')) })),
  ];
  if (base.encoding === 'json') {
    for (const [name, v] of JSON_VALUES) {
      const fields: Array<[string, unknown]> = [...others, [field, v]];
      out.push({ name: `${field}: JSON ${name}`, request: build(base, { body: Buffer.from(jsonOf(fields)) }) });
    }
  }
  return out;
}

/** Mutations of the request as a whole: bodies, content types, headers, sizes, the path's parameters. */
export function requestMutations(base: BaseRequest): Mutation[] {
  const fields = base.fields;
  const hasBody = base.encoding !== 'query';
  const repeated = Array.from({ length: 10_000 }, (_, i) => `p=${i}`).join('&');
  const out: Mutation[] = [
    { name: 'no fields', request: withFields(base, []) },
    { name: '10k repeated params in the query', request: build(base, { query: repeated.slice(0, 14_000) }) },
    {
      name: 'prototype keys',
      request: withFields(base, [
        ...fields,
        ['__proto__[admin]', '1'],
        ['constructor[prototype][x]', '1'],
        ['toString', 'x'],
      ]),
    },
    { name: 'bad query escapes', request: build(base, { query: `a=%FF&b=%E0%A4%A&c=%00&${formOf(fields)}` }) },
    { name: 'overlong header', request: build(base, { headers: { 'x-long': 'a'.repeat(20_000) } }) },
    {
      name: 'overlong cookie',
      request: build(base, { headers: { cookie: `${base.headers.cookie ?? ''}; junk=${'b'.repeat(12_000)}` } }),
    },
    {
      name: 'bad cookie bytes',
      request: build(base, {
        headers: { cookie: `${base.headers.cookie ?? ''}; twofold.csrf=%FF%00; _session=\u00ff` },
      }),
    },
    { name: 'bad authorization', request: build(base, { headers: { authorization: 'Bearer \u00ff\u00fe..' } }) },
    { name: 'bad basic authorization', request: build(base, { headers: { authorization: 'Basic !!!%%%' } }) },
    { name: 'accept json', request: build(base, { headers: { accept: 'application/json' } }) },
    { name: 'accept nothing known', request: build(base, { headers: { accept: 'image/png;q=abc, */*;q=-1' } }) },
    {
      name: 'forwarded junk',
      request: build(base, {
        headers: { 'x-forwarded-for': 'not-an-ip, \u00ff', 'x-forwarded-proto': 'gopher', 'accept-language': '*;q=zz' },
      }),
    },
    { name: 'x-request-id junk', request: build(base, { headers: { 'x-request-id': 'x'.repeat(5_000) } }) },
  ];
  if (hasBody) {
    const form = Buffer.from(formOf(fields));
    out.push(
      { name: '1 MB body', request: withFields(base, [...fields, ['big', 'y'.repeat(MB)]]) },
      {
        name: '10k repeated params in the body',
        request: build(base, { body: Buffer.from(`${formOf(fields)}&${repeated}`) }),
      },
      { name: 'text/plain body', request: build(base, { body: form, contentType: 'text/plain' }) },
      { name: 'no content type', request: build(base, { body: form, contentType: '' }) },
      {
        name: 'multipart junk',
        request: build(base, {
          body: Buffer.from('--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--x--'),
          contentType: 'multipart/form-data; boundary=x',
        }),
      },
      {
        name: 'unknown charset',
        request: build(base, { body: form, contentType: 'application/x-www-form-urlencoded; charset=bogus-42' }),
      },
      {
        name: 'utf-16 charset',
        request: build(base, {
          body: Buffer.from(formOf(fields), 'utf16le'),
          contentType: 'application/x-www-form-urlencoded; charset=utf-16',
        }),
      },
      {
        name: 'json to a form',
        request: build(base, { body: Buffer.from(jsonOf(fields)), contentType: 'application/json' }),
      },
      { name: 'malformed JSON', request: build(base, { body: Buffer.from('{"a":'), contentType: 'application/json' }) },
      { name: 'JSON array', request: build(base, { body: Buffer.from('[1,2,3]'), contentType: 'application/json' }) },
      { name: 'JSON null', request: build(base, { body: Buffer.from('null'), contentType: 'application/json' }) },
      { name: 'JSON string', request: build(base, { body: Buffer.from('"s"'), contentType: 'application/json' }) },
      {
        name: 'JSON deep nesting',
        request: build(base, {
          body: Buffer.from(`${'['.repeat(5_000)}${']'.repeat(5_000)}`),
          contentType: 'application/json',
        }),
      },
      {
        name: 'JSON proto',
        request: build(base, {
          body: Buffer.from('{"__proto__":{"admin":true},"constructor":{"prototype":{}}}'),
          contentType: 'application/json',
        }),
      },
      {
        name: 'JSON lone surrogate',
        request: build(base, { body: Buffer.from('{"a":"\\ud800"}'), contentType: 'application/json' }),
      },
      {
        name: 'invalid UTF-8 body',
        request: build(base, {
          body: Buffer.concat([form, Buffer.from('&x='), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0])]),
        }),
      },
      { name: 'gzip that is not', request: build(base, { body: form, headers: { 'content-encoding': 'gzip' } }) },
    );
  }
  for (const index of base.params) {
    const swap = (value: string) => base.segments.map((s, i) => (i === index ? value : s));
    for (const [name, value] of [
      ['unknown', 'no-such-thing'],
      ['8 kB', 'z'.repeat(8_000)],
      ['NUL', 'a%00b'],
      ['invalid UTF-8', '%FF%FE'],
      ['broken escape', '%E0%A4%A'],
      ['dot segments', '..%2F..%2Fetc%2Fpasswd'],
      ['number', '-1'],
      ['proto', '__proto__'],
    ] as const) {
      out.push({ name: `path param ${index}: ${name}`, request: build(base, { segments: swap(value) }) });
    }
  }
  for (const method of ['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD']) {
    if (method !== base.method) out.push({ name: `method ${method}`, request: { ...build(base, {}), method } });
  }
  return out;
}

/** The base request itself. */
export const baseline = (base: BaseRequest): Mutation => ({ name: 'baseline', request: build(base, {}) });

/**
 * How many mutations one route gets: `request` of the whole-request ones, every field's `always`
 * ones (the classes that reach the stores, sent on every run), and `fields` more of the fields' others.
 */
export interface Sample {
  request: number;
  always: string[];
  fields: number;
}

/** The sample for `base`, split over the route's `variants` (one per factor kind); the realistic request last. */
export function chooseMutations(
  base: BaseRequest,
  prng: ReturnType<typeof createPrng>,
  sample: Sample,
  variants = 1,
): Mutation[] {
  const ofFields = base.fields.flatMap(([field]) => fieldMutations(base, field));
  const always = ofFields.filter((m) => sample.always.some((name) => m.name.endsWith(`: ${name}`)));
  const others = ofFields.filter((m) => !always.includes(m));
  return [
    ...prng.pick(requestMutations(base), Math.ceil(sample.request / variants)),
    ...always,
    ...prng.pick(others, Math.ceil(sample.fields / variants)),
    // It may use the state up (a sign-in step done, a session ended), so it goes after the others.
    baseline(base),
  ];
}
