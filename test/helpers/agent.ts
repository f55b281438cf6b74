/**
 * A small browser stand-in for protocol tests: keeps cookies (by name and path, honouring
 * deletion), follows redirects one hop at a time, and reads forms out of our pages.
 */
interface Cookie {
  name: string;
  value: string;
  path: string;
}

export class Agent {
  readonly cookies: Cookie[] = [];

  private store(response: Response, url: URL): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';').map((s) => s.trim());
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      const attr = (key: string) => attributes.find((a) => a.toLowerCase().startsWith(`${key}=`))?.split('=')[1];
      const path = attr('path') ?? url.pathname.replace(/\/[^/]*$/, '') ?? '/';
      const expires = attr('expires');
      const expired =
        attr('max-age') === '0' || (expires !== undefined && new Date(expires).getTime() < Date.now()) || value === '';
      const index = this.cookies.findIndex((c) => c.name === name && c.path === path);
      if (index >= 0) this.cookies.splice(index, 1);
      if (!expired) this.cookies.push({ name, value, path });
    }
  }

  cookieHeader(url: URL): string {
    return this.cookies
      .filter(
        (c) =>
          url.pathname === c.path ||
          url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) ||
          c.path === '/',
      )
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  async request(
    target: string | URL,
    options: { method?: string; form?: Record<string, string | string[]>; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const url = new URL(target);
    const headers: Record<string, string> = { accept: 'text/html', ...options.headers };
    const cookie = this.cookieHeader(url);
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (options.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      // A field given several values (ticked boxes) is sent once per value, as a browser does.
      body = new URLSearchParams(
        Object.entries(options.form).flatMap(([name, value]) => [value].flat().map((v): [string, string] => [name, v])),
      ).toString();
    }
    const response = await fetch(url, {
      method: options.method ?? (body ? 'POST' : 'GET'),
      headers,
      body,
      redirect: 'manual',
    });
    this.store(response, url);
    return response;
  }

  /**
   * Follows redirects until a page answers or the next hop would leave for `stopAt`
   * (e.g. the client's redirect_uri); returns the last response and the URL it came from.
   */
  async follow(start: Response, from: URL, stopAt?: (url: URL) => boolean): Promise<{ response: Response; url: URL }> {
    let response = start;
    let url = from;
    for (let hops = 0; hops < 20; hops++) {
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location) return { response, url };
      const next = new URL(location, url);
      if (stopAt?.(next)) return { response, url: next };
      await response.arrayBuffer();
      response = await this.request(next);
      url = next;
    }
    throw new Error('too many redirects');
  }
}

/** The `_csrf` value and action of the form whose action matches `actionPattern`. */
export function readForm(html: string, actionPattern: RegExp): { action: string; csrf: string } {
  const forms = [...html.matchAll(/<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/g)];
  const form = forms.find((f) => actionPattern.test(f[1]!));
  if (!form) throw new Error(`no form matching ${actionPattern} in page:\n${html.slice(0, 2000)}`);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(form[2]!)?.[1];
  if (!csrf) throw new Error('form has no _csrf field');
  return { action: form[1]!.replaceAll('&amp;', '&'), csrf };
}
