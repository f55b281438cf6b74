/**
 * 2. The legacy grant (issue 10): each IMAP login costs one app-password grant and one
 * introspection. Throughput with 8 in flight against the provider's own client_credentials grant,
 * measured against the same node in the same run; the app password is checked by its keyed hash,
 * so no password hash is on this path. Target: at least 0.85 for the grant and for the pairs.
 */
import { postForJson } from './lib/http.ts';
import { alternate, report, runLoad, type Row } from './lib/measure.ts';
import type { BenchSettings, Target } from './lib/settings.ts';

export async function benchLegacyGrant(target: Target, settings: BenchSettings) {
  const { mail, service, appPassword } = target.deployment.seeded;
  const token = new URL('/token', target.nodes[0]!.url);
  const introspection = new URL('/token/introspection', target.nodes[0]!.url);
  const clientCredentials = async () =>
    void (await postForJson(token, {
      grant_type: 'client_credentials',
      client_id: service.clientId,
      client_secret: service.secret,
    }));
  const passwordGrant = () =>
    postForJson(token, {
      grant_type: 'password',
      username: appPassword.username,
      password: appPassword.password,
      client_id: mail.clientId,
      client_secret: mail.secret,
    });
  const pair = async () => {
    const { access_token } = await passwordGrant();
    const introspected = await postForJson(introspection, {
      token: String(access_token),
      client_id: mail.clientId,
      client_secret: mail.secret,
    });
    if (introspected.active !== true) throw new Error('introspection said inactive');
  };
  const inFlight = 8;
  // Measured in turn on the same node, six times over in short windows (each warmed up, JIT and
  // statement caches, before its first): the host's bursts of other work fall on all three alike.
  const ROUNDS = 6;
  const options = (round: number) => ({ warmupSeconds: round === 0 ? settings.warmupSeconds / 2 : 0.2 });
  const window = settings.seconds / ROUNDS;
  const { cc, grants, pairs } = await alternate(ROUNDS, {
    cc: (round) => runLoad(window, inFlight, clientCredentials, options(round)),
    grants: (round) => runLoad(window, inFlight, async () => void (await passwordGrant()), options(round)),
    pairs: (round) => runLoad(window, inFlight, pair, options(round)),
  });
  const errors = cc.errors + grants.errors + pairs.errors;
  const rows: Row[] = [
    { name: 'client_credentials grants/s', value: cc.perSecond, unit: '/s' },
    { name: 'app-password grants/s', value: grants.perSecond, unit: '/s' },
    { name: 'grant + introspection pairs/s', value: pairs.perSecond, unit: '/s' },
    {
      name: 'grant ratio to client_credentials',
      value: grants.perSecond / cc.perSecond,
      unit: 'x',
      target: { op: '>=', value: 0.85 },
    },
    {
      // A pair is two requests: it is compared with two client_credentials grants.
      name: 'pair ratio (2 requests vs 2 grants)',
      value: (2 * pairs.perSecond) / cc.perSecond,
      unit: 'x',
      target: { op: '>=', value: 0.85 },
    },
    {
      name: 'errors',
      value: errors,
      unit: 'count',
      note: errors ? [cc, grants, pairs].map((r) => r.firstError).find(Boolean) : undefined,
    },
  ];
  return report(
    'legacy-grant',
    `2. Legacy grant (${target.deployment.backend}, 8 in flight, node on core 0, each load measured six times in turn)`,
    rows,
    {
      clientCredentials: cc,
      passwordGrants: grants,
      pairs,
    },
  );
}
