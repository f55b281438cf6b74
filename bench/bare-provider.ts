/**
 * 5. Discovery and introspection against a bare oidc-provider with the same configuration shape
 * (bench/children/bare-provider.ts), each pinned to core 0 in turn, the load on core 1, in the same
 * run. Introspection checks a client_credentials access token, authenticated with
 * client_secret_post, on both.
 */
import { startBareProvider } from './lib/children.ts';
import { postForJson, send } from './lib/http.ts';
import { alternate, report, runLoad, type Row } from './lib/measure.ts';
import type { BenchSettings, Target } from './lib/settings.ts';

interface Endpoints {
  discovery(): Promise<void>;
  introspection(): Promise<void>;
}

async function endpointsOf(
  base: URL,
  service: { id: string; secret: string },
  introspector: { id: string; secret: string },
): Promise<Endpoints> {
  const discoveryUrl = new URL('/.well-known/openid-configuration', base);
  const config = JSON.parse((await send(discoveryUrl)).body) as Record<string, string>;
  const tokenUrl = new URL(config.token_endpoint!);
  const introspectionUrl = new URL(config.introspection_endpoint!);
  tokenUrl.host = introspectionUrl.host = base.host;
  const { access_token } = await postForJson(tokenUrl, {
    grant_type: 'client_credentials',
    client_id: service.id,
    client_secret: service.secret,
  });
  return {
    async discovery() {
      const reply = await send(discoveryUrl);
      if (reply.status !== 200) throw new Error(`discovery answered ${reply.status}`);
    },
    async introspection() {
      const body = await postForJson(introspectionUrl, {
        token: String(access_token),
        client_id: introspector.id,
        client_secret: introspector.secret,
      });
      if (body.active !== true) throw new Error('introspection said inactive');
    },
  };
}

export async function benchAgainstBareProvider(target: Target, settings: BenchSettings) {
  const { service, mail } = target.deployment.seeded;
  const twofold = await endpointsOf(
    target.nodes[0]!.url,
    { id: service.clientId, secret: service.secret },
    { id: mail.clientId, secret: mail.secret },
  );
  const bareClients = [
    { client_id: 'bench-service', client_secret: service.secret },
    { client_id: 'bench-mail', client_secret: mail.secret },
  ];
  const bare = await startBareProvider('0', bareClients);
  const inFlight = 8;
  const measure = (endpoint: () => Promise<void>) =>
    runLoad(settings.seconds / 4, inFlight, endpoint, { warmupSeconds: settings.warmupSeconds / 2 });
  try {
    const bareEndpoints = await endpointsOf(
      bare.url,
      { id: 'bench-service', secret: service.secret },
      { id: 'bench-mail', secret: mail.secret },
    );
    // Twofold is idle (and so costs nothing) while the bare provider runs on the same core; each
    // endpoint is measured on each server in turn, twice over.
    const results = await alternate(2, {
      twofoldDiscovery: () => measure(twofold.discovery),
      bareDiscovery: () => measure(bareEndpoints.discovery),
      twofoldIntrospection: () => measure(twofold.introspection),
      bareIntrospection: () => measure(bareEndpoints.introspection),
    });
    const rows: Row[] = [
      { name: 'discovery/s, Twofold', value: results.twofoldDiscovery.perSecond, unit: '/s' },
      { name: 'discovery/s, bare oidc-provider', value: results.bareDiscovery.perSecond, unit: '/s' },
      {
        name: 'discovery ratio',
        value: results.twofoldDiscovery.perSecond / results.bareDiscovery.perSecond,
        unit: 'x',
        note: 'issue 11 measured 0.44',
      },
      { name: 'introspection/s, Twofold', value: results.twofoldIntrospection.perSecond, unit: '/s' },
      { name: 'introspection/s, bare oidc-provider', value: results.bareIntrospection.perSecond, unit: '/s' },
      {
        name: 'introspection ratio',
        value: results.twofoldIntrospection.perSecond / results.bareIntrospection.perSecond,
        unit: 'x',
        note: 'issue 11 measured 0.38-0.44',
      },
    ];
    return report(
      'bare-provider',
      `5. Against a bare oidc-provider (8 in flight, each server on core 0 in turn and twice over, load on core 1)`,
      rows,
      results,
    );
  } finally {
    await bare.stop();
  }
}
