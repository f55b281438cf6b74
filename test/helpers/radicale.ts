/**
 * A throwaway Radicale (CalDAV/CardDAV) behind nginx, where nginx asks Twofold's forward-auth
 * endpoint (DESIGN §4, app passwords) about every request: the person's Basic credentials go to
 * `GET <issuer>/forward-auth` with nginx's own client credentials in `X-Twofold-Client`; on 200
 * nginx hands `X-Twofold-User` to Radicale as `X-Remote-User`, on 401 the client gets Twofold's
 * 401 and its `WWW-Authenticate`.
 *
 * Needs the Debian packages: nginx radicale (nginx must have the auth_request module; Debian's
 * does). Installs nothing itself; startRadicaleBehindNginx() throws, naming the package, when a
 * binary is missing (tests skip with that reason outside CI).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './server.ts';
import { readIfExists, stopChild, waitForPort } from './processes.ts';

export const NGINX_BINARY = '/usr/sbin/nginx';
export const RADICALE_BINARY = '/usr/bin/radicale';

export interface RadicaleOptions {
  /** Twofold's forward-auth URL, e.g. `${issuer}/forward-auth`. */
  forwardAuthUrl: string;
  /** nginx's own client at Twofold (sent as X-Twofold-Client: Basic base64(id:secret)). */
  clientId: string;
  clientSecret: string;
}

export interface RunningRadicale {
  /** nginx's address, e.g. http://127.0.0.1:41234/ */
  url: string;
  stop(): Promise<void>;
  /** nginx's error and access logs plus Radicale's output. */
  logs(): string;
}

/** Why Radicale behind nginx cannot run here, or null when it can. */
export function radicaleMissing(): string | null {
  const missing = [
    [NGINX_BINARY, 'nginx'],
    [RADICALE_BINARY, 'radicale'],
  ].filter(([binary]) => !existsSync(binary!));
  if (missing.length === 0) return null;
  const what = missing.map(([binary, pkg]) => `${binary} (Debian package ${pkg})`).join(' and ');
  return `not found: ${what}; install with apt-get install ${missing.map(([, pkg]) => pkg).join(' ')}`;
}

export async function startRadicaleBehindNginx(options: RadicaleOptions): Promise<RunningRadicale> {
  const missing = radicaleMissing();
  if (missing) throw new Error(missing);
  if (/[\s;{}"'\\$]/.test(options.forwardAuthUrl)) throw new Error(`unsafe forwardAuthUrl: ${options.forwardAuthUrl}`);
  let lastError: unknown;
  // A free port can be taken between our probe and the bind; try again with fresh ones.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(options);
    } catch (error) {
      lastError = error;
      if (!/Address already in use|bind\(\) to .* failed/.test(String(error))) throw error;
    }
  }
  throw lastError;
}

async function startOnce(options: RadicaleOptions): Promise<RunningRadicale> {
  const dir = mkdtempSync(path.join(tmpdir(), 'twofold-radicale-'));
  // nginx workers run as `nobody` when we are root; they only need to reach the temp paths.
  chmodSync(dir, 0o755);
  mkdirSync(path.join(dir, 'collections'));
  const radicalePort = await freePort();
  const nginxPort = await freePort();

  const radicaleConf = path.join(dir, 'radicale.conf');
  writeFileSync(
    radicaleConf,
    `[server]
hosts = 127.0.0.1:${radicalePort}

[auth]
# Trust the user name nginx puts in X-Remote-User (it overwrites whatever the client sent).
type = http_x_remote_user

[rights]
type = owner_only

[storage]
filesystem_folder = ${path.join(dir, 'collections')}

[web]
type = none

[logging]
level = info
mask_passwords = True
`,
  );
  const nginxConf = path.join(dir, 'nginx.conf');
  writeFileSync(nginxConf, nginxConfig(dir, nginxPort, radicalePort, options));

  const children: { name: string; child: ChildProcess; exited: Promise<number | null>; output: () => string }[] = [];
  const run = (name: string, binary: string, args: string[]) => {
    let output = '';
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
    for (const stream of [child.stdout!, child.stderr!]) stream.on('data', (chunk: Buffer) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    children.push({ name, child, exited, output: () => output });
    return exited;
  };

  let savedLogs: string | null = null;
  const logs = () =>
    savedLogs ??
    [
      ...children.map(({ name, output }) => `--- ${name} output ---\n${output()}`),
      `--- nginx error.log ---\n${readIfExists(path.join(dir, 'error.log'))}`,
      `--- nginx access.log ---\n${readIfExists(path.join(dir, 'access.log'))}`,
    ].join('\n');
  const stop = async () => {
    // nginx first, so nothing reaches Radicale while it goes away.
    for (const { child, exited } of [...children].reverse()) await stopChild(child, exited);
    savedLogs = logs();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const radicaleExited = run('radicale', RADICALE_BINARY, ['--config', radicaleConf]);
    await waitForPort(radicalePort, radicaleExited, 20_000);
    const nginxExited = run('nginx', NGINX_BINARY, ['-p', dir, '-c', nginxConf, '-e', path.join(dir, 'error.log')]);
    await waitForPort(nginxPort, nginxExited, 10_000);
  } catch (error) {
    await stop();
    throw new Error(`Radicale behind nginx did not start: ${(error as Error).message}\n${savedLogs}`);
  }
  return { url: `http://127.0.0.1:${nginxPort}/`, stop, logs };
}

function nginxConfig(dir: string, port: number, radicalePort: number, options: RadicaleOptions): string {
  const client = Buffer.from(`${options.clientId}:${options.clientSecret}`, 'utf8').toString('base64');
  const temp = (name: string) => path.join(dir, name);
  return `# Written by test/helpers/radicale.ts for one test run.
daemon off;
master_process on;
worker_processes 1;
pid ${temp('nginx.pid')};
error_log ${temp('error.log')} info;

events {
  worker_connections 64;
}

http {
  access_log ${temp('access.log')};
  client_body_temp_path ${temp('client_body')};
  proxy_temp_path ${temp('proxy')};
  fastcgi_temp_path ${temp('fastcgi')};
  uwsgi_temp_path ${temp('uwsgi')};
  scgi_temp_path ${temp('scgi')};

  server {
    listen 127.0.0.1:${port};
    server_name localhost;

    location = /_twofold_forward_auth {
      internal;
      # The subrequest would otherwise reuse the client's method (PROPFIND, PUT, ...).
      proxy_method GET;
      proxy_pass ${options.forwardAuthUrl};
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header Authorization $http_authorization;
      proxy_set_header X-Twofold-Client "Basic ${client}";
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Original-URI $request_uri;
    }

    location / {
      auth_request /_twofold_forward_auth;
      auth_request_set $twofold_user $upstream_http_x_twofold_user;
      auth_request_set $twofold_scope $upstream_http_x_twofold_scope;
      # On a 401 from the subrequest nginx answers 401 itself and copies the subrequest's
      # WWW-Authenticate (ngx_http_auth_request_module does; an add_header here would double it).

      proxy_pass http://127.0.0.1:${radicalePort};
      proxy_set_header Host $http_host;
      # Replaces any X-Remote-User the client sent; empty (no user) removes it.
      proxy_set_header X-Remote-User $twofold_user;
      proxy_set_header X-Twofold-Scope $twofold_scope;
      proxy_set_header Authorization "";
    }
  }
}
`;
}

/**
 * A CalDAV PROPFIND (Depth: 0, asking for current-user-principal) with Basic credentials, or none
 * when `user` is undefined. Returns the HTTP status: 207 when Radicale answered.
 */
export async function propfind(url: string, user?: string, password?: string): Promise<number> {
  const headers: Record<string, string> = { Depth: '0', 'Content-Type': 'application/xml; charset=utf-8' };
  if (user !== undefined)
    headers.Authorization = `Basic ${Buffer.from(`${user}:${password ?? ''}`, 'utf8').toString('base64')}`;
  const response = await fetch(url, {
    method: 'PROPFIND',
    headers,
    body: '<?xml version="1.0" encoding="utf-8"?><propfind xmlns="DAV:"><prop><current-user-principal/></prop></propfind>',
    signal: AbortSignal.timeout(10_000),
  });
  await response.arrayBuffer();
  return response.status;
}
