import { Agent, request as httpRequest } from 'node:http';

/**
 * The load generator's HTTP client: node:http with kept-alive sockets, no redirects followed, no
 * body parsing beyond a string. Far cheaper per request than fetch, so that one core of load is
 * enough to saturate a server pinned to the other core.
 */
export interface Reply {
  status: number;
  location: string | undefined;
  setCookie: string[];
  body: string;
}

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

export function send(
  url: URL,
  options: { method?: string; headers?: Record<string, string>; form?: Record<string, string> } = {},
): Promise<Reply> {
  const body = options.form ? new URLSearchParams(options.form).toString() : undefined;
  const headers: Record<string, string> = { ...options.headers };
  if (body !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      url,
      { method: options.method ?? (body === undefined ? 'GET' : 'POST'), headers, agent },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            location: response.headers.location,
            setCookie: response.headers['set-cookie'] ?? [],
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        response.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** A JSON POST of form fields that must answer 200 (token, introspection endpoints). */
export async function postForJson(url: URL, form: Record<string, string>): Promise<Record<string, unknown>> {
  const reply = await send(url, { form, headers: { accept: 'application/json' } });
  if (reply.status !== 200) throw new Error(`${url.pathname} answered ${reply.status}: ${reply.body.slice(0, 300)}`);
  return JSON.parse(reply.body) as Record<string, unknown>;
}

/** A cookie jar keyed by name and path, enough for one journey through the pages. */
export class CookieJar {
  private readonly cookies = new Map<string, { name: string; value: string; path: string }>();

  store(reply: Reply, url: URL): void {
    for (const line of reply.setCookie) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      let path = url.pathname.replace(/\/[^/]*$/, '') || '/';
      let expired = value === '';
      for (const attribute of attributes) {
        const [key, val = ''] = attribute.trim().split('=');
        const lower = key!.toLowerCase();
        if (lower === 'path') path = val;
        else if (lower === 'max-age' && val === '0') expired = true;
        else if (lower === 'expires' && new Date(val).getTime() < Date.now()) expired = true;
      }
      const key = `${name};${path}`;
      if (expired) this.cookies.delete(key);
      else this.cookies.set(key, { name, value, path });
    }
  }

  header(url: URL): string {
    const out: string[] = [];
    for (const { name, value, path } of this.cookies.values()) {
      if (path === '/' || url.pathname === path || url.pathname.startsWith(path.endsWith('/') ? path : `${path}/`))
        out.push(`${name}=${value}`);
    }
    return out.join('; ');
  }
}
