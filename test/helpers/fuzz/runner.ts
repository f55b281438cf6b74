import { createFuzzStates, type FuzzState, type FuzzStates } from './states.ts';
import { GENERIC_FIELDS, KNOWN_FIELDS, routePattern, scrapeForms, type ScrapedForm } from './forms.ts';
import { chooseMutations, createPrng, type BaseRequest, type Encoding, type Sample } from './mutations.ts';
import { sendRaw } from './raw-http.ts';
import type { TestClock } from '../clock.ts';
import { startTestServer, type Backend, type TestServer } from '../server.ts';

/** The provider's endpoints by discovery key, and the methods each answers (an unknown key gets GET and POST). */
const ENDPOINT_METHODS: Record<string, string[]> = {
  authorization_endpoint: ['GET', 'POST'],
  token_endpoint: ['POST'],
  userinfo_endpoint: ['GET', 'POST'],
  jwks_uri: ['GET'],
  introspection_endpoint: ['POST'],
  revocation_endpoint: ['POST'],
  end_session_endpoint: ['GET', 'POST'],
  pushed_authorization_request_endpoint: ['POST'],
};

export interface Route {
  method: string;
  path: string;
  provider: boolean;
}

/** Our routes from the routers themselves, the provider's from discovery plus the pages discovery does not name. */
export async function enumerateRoutes(server: TestServer): Promise<Route[]> {
  const ours = server.app.koa.routes.map((r) => ({ ...r, provider: false }));
  const discovery = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as Record<
    string,
    unknown
  >;
  const endpoints = Object.entries(discovery).filter(
    ([key, value]) => /_(endpoint|uri)$/.test(key) && typeof value === 'string' && value.startsWith(server.issuer),
  );
  const theirs = endpoints.flatMap(([key, value]) =>
    (ENDPOINT_METHODS[key] ?? ['GET', 'POST']).map((method) => ({
      method,
      path: new URL(value as string).pathname,
      provider: true,
    })),
  );
  const pages = [
    ['GET', '/.well-known/openid-configuration'],
    ['GET', '/auth/:uid'],
    ['POST', '/session/end/confirm'],
    ['GET', '/session/end/success'],
  ].map(([method, path]) => ({ method: method!, path: path!, provider: true }));
  return [...ours, ...theirs, ...pages];
}

type StateName = Exclude<keyof FuzzStates, 'kinds' | 'members'>;

/** The state that reaches a route's handler: the sign-in step it belongs to, the signed-in person, the administrator… */
function stateFor(route: Route): StateName {
  const { path } = route;
  if (/^\/interaction\/:uid\/(verify|passwordless)/.test(path)) return 'verify';
  if (/^\/interaction\/:uid\/(enrol|grace|password)/.test(path)) return 'enrol';
  if (path.startsWith('/interaction/')) return 'login';
  if (path.startsWith('/api/account')) return 'personToken';
  if (path.startsWith('/api/admin')) return 'adminToken';
  if (path.startsWith('/admin')) return 'admin';
  if (path.startsWith('/account')) return 'person';
  return 'anonymous';
}

/** A server to fuzz, its states, and the values the provider's fields take (a client, an app password, a token). */
export interface FuzzWorld {
  server: TestServer;
  states: FuzzStates;
  port: number;
  values: Record<string, string>;
}

/** The server on `backend` (throttles raised, metrics on so that /metrics is fuzzed too) and its states. */
export async function startFuzzWorld(backend: Backend, clock: TestClock): Promise<FuzzWorld> {
  const server = await startTestServer(backend, {
    clock,
    overrides: {
      throttle: {
        account: { freeAttempts: 10_000, windowSeconds: 60, maxDelaySeconds: 1 },
        ip: { freeAttempts: 10_000, windowSeconds: 60, maxDelaySeconds: 1 },
      },
      metrics: { token: 'fuzz-metrics-token-that-is-long-enough-0123' },
    },
  });
  const states = await createFuzzStates(server, clock);
  const legacy = await server.app.services.clients.registerClient({
    clientId: 'fuzz-mail',
    grants: ['password'],
    authMethod: 'client_secret_post',
    introspection: true,
  });
  const person = states.members.person.seeded;
  const { password } = await server.app.services.appPasswords.create(
    { orgId: person.org.id, userId: person.user.id, email: person.user.email },
    person.org,
    true,
    { name: 'fuzz', scopes: ['imap'] },
    '127.0.0.1',
  );
  const values: Record<string, string> = {
    client_id: 'fuzz-mail',
    client_secret: legacy.secret!,
    grant_type: 'password',
    username: person.user.email,
    password,
    scope: 'imap',
    response_type: 'code',
    redirect_uri: 'https://rp.example/callback',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
    email: 'someone@acme.example',
    role: 'member',
    date: '2030-01-01',
    lifetime_minutes: '60',
    page: '1',
  };
  // A live access token of the legacy client, for introspection and revocation to look up.
  const grantFields = ['grant_type', 'username', 'password', 'scope', 'client_id', 'client_secret'];
  const grant = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    body: new URLSearchParams(grantFields.map((k): [string, string] => [k, values[k]!])),
  });
  values.token = String(((await grant.json()) as { access_token: string }).access_token);
  values.access_token = values.token;
  return { server, states, port: Number(new URL(server.url).port), values };
}

/** How much to send: the sample of each route's first state, and of the anonymous one (null: none). */
export interface FuzzPlan {
  seed: number;
  primary: Sample;
  anonymous: Sample | null;
}

const IN_FLIGHT = 4;

/**
 * Sends the plan's mutations to every route from the state that reaches its handler, and answers
 * what failed: a 5xx, no answer in time, or a connection closed without one.
 */
export async function runFuzz(world: FuzzWorld, plan: FuzzPlan) {
  const { server, states, port, values } = world;
  const prng = createPrng(plan.seed);
  const routes = await enumerateRoutes(server);
  const forms = new Map<string, ScrapedForm[]>();
  const failures: string[] = [];
  let sent = 0;
  const started = performance.now();

  /** Forms of the state's pages, read once per state. */
  const formsOf = async (state: FuzzState): Promise<ScrapedForm[]> => {
    const known = forms.get(state.name);
    if (known) return known;
    const found: ScrapedForm[] = [];
    for (const page of state.pages) {
      const url = new URL(fill(page, state).join('/') || '/', server.issuer);
      const response = await fetch(url, {
        headers: { cookie: state.cookie, accept: 'text/html' },
        redirect: 'manual',
      });
      found.push(...scrapeForms(await response.text(), url));
    }
    forms.set(state.name, found);
    return found;
  };
  const fill = (path: string, state: FuzzState) =>
    path.split('/').map((s) => (s.startsWith(':') ? encodeURIComponent(state.params[s.slice(1)] ?? 'x') : s));

  const baseFor = async (route: Route, state: FuzzState, kind?: string): Promise<BaseRequest> => {
    const params = kind ? { ...state.params, kind } : state.params;
    const segments = fill(route.path, { ...state, params }).slice(1);
    const paramIndexes = route.path
      .split('/')
      .slice(1)
      .flatMap((s, i) => (s.startsWith(':') ? [i] : []));
    const pattern = routePattern(route.path);
    const form = (await formsOf(state)).find((f) => f.method === route.method && pattern.test(f.action));
    const named = KNOWN_FIELDS[`${route.method} ${route.path}`] ?? [];
    const fields: Array<[string, string]> = form
      ? form.fields.map(([k, v]): [string, string] => [k, k === '_csrf' ? state.csrf : v])
      : (named.length ? named : GENERIC_FIELDS).map((k): [string, string] => [k, values[k] ?? 'x']);
    const encoding: Encoding = route.method === 'GET' ? 'query' : route.path.startsWith('/api/') ? 'json' : 'form';
    if (encoding === 'form' && !route.provider && !fields.some(([k]) => k === '_csrf'))
      fields.unshift(['_csrf', state.csrf]);
    const headers: Record<string, string> = {
      accept: route.path.startsWith('/api/') ? 'application/json' : 'text/html',
    };
    if (state.cookie) headers.cookie = state.cookie;
    if (state.bearer) headers.authorization = `Bearer ${state.bearer}`;
    return { method: route.method, segments, params: paramIndexes, headers, fields, encoding };
  };

  const fuzz = async (route: Route, state: FuzzState, sample: Sample) => {
    const kinds = route.path.includes(':kind') ? states.kinds : [undefined];
    for (const kind of kinds) {
      const base = await baseFor(route, state, kind);
      const chosen = chooseMutations(base, prng, sample, kinds.length);
      for (let i = 0; i < chosen.length; i += IN_FLIGHT) {
        await Promise.all(
          chosen.slice(i, i + IN_FLIGHT).map(async (mutation) => {
            const response = await sendRaw(port, mutation.request);
            sent++;
            if (process.env.FUZZ_TRACE && mutation.name === 'baseline')
              console.log(
                `${route.method} ${route.path} [${state.name} ${kind ?? ''}] baseline ${response.status} ${response.body
                  .toString('utf8', 0, 300)
                  .replace(/\s+/g, ' ')
                  .replace(/^.*<main[^>]*>/, '')}`,
              );
            if (response.status >= 500 || response.status <= 0) {
              const what =
                response.status === -1 ? 'no answer' : response.status === 0 ? 'connection closed' : response.status;
              failures.push(
                `${route.method} ${route.path} [${state.name}${kind ? ` ${kind}` : ''}] ${mutation.name}: ${what} ${response.body.toString('utf8', 0, 160).replace(/\s+/g, ' ')}`,
              );
            }
          }),
        );
      }
    }
  };

  for (const route of routes) {
    const t0 = performance.now();
    const primary = route.provider ? 'anonymous' : stateFor(route);
    await fuzz(route, await states[primary](), plan.primary);
    if (primary !== 'anonymous' && plan.anonymous) await fuzz(route, await states.anonymous(), plan.anonymous);
    if (process.env.FUZZ_TRACE)
      console.log(`TIME ${route.method} ${route.path} ${(performance.now() - t0).toFixed(0)} ms`);
  }
  return { sent, routes: routes.length, failures, seconds: (performance.now() - started) / 1000 };
}
