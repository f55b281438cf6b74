import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Agent } from '../helpers/agent.ts';
import { authorizationRequest, discoverRp, open, submitLogin } from '../helpers/rp.ts';
import { seedClient, seedUser } from '../helpers/seed.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** One span as OTLP/HTTP JSON carries it (ids in hex, attributes as typed values). */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: { stringValue?: string; intValue?: number | string } }[];
  status?: { code?: number };
}

interface Collector {
  url: string;
  spans: OtlpSpan[];
  resources: Record<string, unknown>[];
  close(): Promise<void>;
}

/** A loopback OTLP/HTTP collector: it keeps every span POSTed to /v1/traces. */
async function startCollector(): Promise<Collector> {
  const spans: OtlpSpan[] = [];
  const resources: Record<string, unknown>[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      let body = Buffer.concat(chunks);
      if (request.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      expect(request.url).toBe('/v1/traces');
      expect(request.headers['content-type']).toContain('application/json');
      const payload = JSON.parse(body.toString('utf8')) as {
        resourceSpans: { resource: { attributes: unknown[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
      };
      for (const resourceSpans of payload.resourceSpans) {
        resources.push(Object.fromEntries((resourceSpans.resource.attributes as OtlpSpan['attributes']).map(flatten)));
        for (const scope of resourceSpans.scopeSpans) spans.push(...scope.spans);
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    spans,
    resources,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const flatten = ({ key, value }: OtlpSpan['attributes'][number]) =>
  [key, value.stringValue ?? (value.intValue === undefined ? undefined : Number(value.intValue))] as const;
const attributesOf = (span: OtlpSpan) => Object.fromEntries(span.attributes.map(flatten));
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/**
 * Issue 11, observability: OpenTelemetry traces when `tracing.otlpUrl` is set. A span per request
 * (route template, method, status) that continues the caller's W3C traceparent, with the store
 * operations and the password hash as its children, exported over OTLP/HTTP as JSON.
 */
describe('OpenTelemetry traces', () => {
  let collector: Collector;
  let server: TestServer;
  const traceId = hex(16);
  const callerSpanId = hex(8);
  const unsampledTraceId = hex(16);

  beforeAll(async () => {
    collector = await startCollector();
    server = await startTestServer('sqlite', {
      overrides: { tracing: { otlpUrl: collector.url, serviceName: 'twofold-under-test' } },
    });
    await seedUser(server.app, { email: 'traced@example.com' });
    const rp = await discoverRp(server.issuer, await seedClient(server.app));
    await fetch(`${server.issuer}/.well-known/openid-configuration`, {
      headers: { traceparent: `00-${traceId}-${callerSpanId}-01` },
    });
    await fetch(`${server.issuer}/.well-known/openid-configuration`, {
      headers: { traceparent: `00-${unsampledTraceId}-${hex(8)}-00` },
    });
    const agent = new Agent();
    const login = await open(agent, (await authorizationRequest(rp)).url, rp.redirectUri);
    await submitLogin(agent, login, 'traced@example.com', 'not the password at all', rp.redirectUri);
    // Closing the node sends what the batch still holds.
    await server.close();
  });
  afterAll(async () => collector?.close());

  it('names the service and exports one server span per request, continuing the caller’s traceparent', () => {
    expect(collector.resources[0]).toMatchObject({ 'service.name': 'twofold-under-test' });
    const discovery = collector.spans.find((span) => span.traceId === traceId);
    expect(discovery).toBeDefined();
    expect(discovery!.parentSpanId).toBe(callerSpanId);
    expect(discovery!.name).toBe('GET /.well-known/openid-configuration');
    expect(discovery!.kind).toBe(2); // SPAN_KIND_SERVER
    expect(attributesOf(discovery!)).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/.well-known/openid-configuration',
      'http.response.status_code': 200,
    });
  });

  it('honours a caller that did not sample its trace (flags 00): nothing of it is exported', () => {
    expect(collector.spans.filter((span) => span.traceId === unsampledTraceId)).toEqual([]);
  });

  it('puts the password hash and the store operations under the request that ran them', () => {
    const login = collector.spans.find((span) => span.name === 'POST /interaction/:uid/login');
    expect(login, collector.spans.map((span) => span.name).join(', ')).toBeDefined();
    expect(attributesOf(login!)).toMatchObject({
      'http.route': '/interaction/:uid/login',
      'http.request.method': 'POST',
    });
    const children = collector.spans.filter((span) => span.parentSpanId === login!.spanId);
    expect(children.every((child) => child.traceId === login!.traceId)).toBe(true);
    const names = children.map((child) => child.name);
    expect(names).toContain('password.verify');
    const storeSpans = children.filter((child) => attributesOf(child)['twofold.store'] !== undefined);
    expect(storeSpans.map((span) => attributesOf(span)['twofold.store'])).toEqual(
      expect.arrayContaining(['users', 'oidc_models']),
    );
    // Nothing but the route template names a request: no raw path, no ids, no query.
    expect(JSON.stringify(collector.spans)).not.toContain('traced@example.com');
  });
});

describe('OpenTelemetry traces with the collector away', () => {
  it('serves requests as usual and shuts down within its bound', async () => {
    const gone = await startCollector();
    await gone.close();
    const server = await startTestServer('sqlite', { overrides: { tracing: { otlpUrl: gone.url, serviceName: 'x' } } });
    const responses = await Promise.all(
      Array.from({ length: 5 }, () => fetch(`${server.issuer}/.well-known/openid-configuration`)),
    );
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200, 200]);
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(8000);
  });
});
