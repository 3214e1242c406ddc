/**
 * A scripted browser for the demo's connected-account flow across the app and the identity
 * provider: fetch with manual redirects and one cookie jar per host (cookies ignore ports, as
 * browsers do), sending `X-CSRF: 1` and the app's Origin on the app's API calls like
 * @keyward/client. Every answer it receives (status, headers, Set-Cookie, body) is kept, so a
 * test can search everything the browser ever got for tokens.
 */
export interface Received {
  readonly url: string;
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
  json(): any;
}

interface Cookie {
  readonly name: string;
  readonly value: string;
  readonly path: string;
  readonly host: string;
}

export class OAuthBrowser {
  /** Everything received, as text (request line, headers, body), for leak searches. */
  readonly transcript: string[] = [];
  /** Every Set-Cookie line received. */
  readonly setCookies: string[] = [];
  private readonly jar = new Map<string, Cookie>();

  constructor(readonly app: string) {}

  /** Names of the cookies held per host (never their values). */
  cookies(): Cookie[] {
    return [...this.jar.values()];
  }

  /** One request, no redirect followed; `api` adds the headers @keyward/client sends. */
  async request(url: string | URL, init: { method?: string; json?: unknown; form?: Record<string, string>; api?: boolean } = {}): Promise<Received> {
    const target = new URL(url, this.app);
    const headers: Record<string, string> = {};
    const cookie = this.cookieHeader(target);
    if (cookie) headers.cookie = cookie;
    if (init.api) Object.assign(headers, { 'x-csrf': '1', origin: this.app, accept: 'application/json' });
    let body: string | undefined;
    if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    } else if (init.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers.origin = target.origin;
      body = new URLSearchParams(init.form).toString();
    }
    const res = await fetch(target, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, body, redirect: 'manual' });
    const text = await res.text();
    this.store(res, target);
    this.transcript.push(`${init.method ?? 'GET'} ${target.href} -> ${res.status}\n${[...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n${text}`);
    return { url: target.href, status: res.status, headers: res.headers, body: text, json: () => (text ? JSON.parse(text) : undefined) };
  }

  /** An API call of the page (X-CSRF, Origin). */
  api(method: string, path: string, json?: unknown): Promise<Received> {
    return this.request(path, { method, json, api: true });
  }

  /** A top-level navigation: follows redirects (at most 15) until a page answers. */
  async navigate(url: string | URL, form?: Record<string, string>): Promise<Received> {
    let res = await this.request(url, form ? { form } : {});
    for (let hops = 0; hops < 15 && res.status >= 300 && res.status < 400; hops++) {
      const location = res.headers.get('location');
      if (location === null) break;
      res = await this.request(new URL(location, res.url));
    }
    return res;
  }

  private store(res: Response, url: URL): void {
    for (const line of res.headers.getSetCookie()) {
      this.setCookies.push(line);
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      if (eq <= 0) continue;
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      let path = '/';
      let expired = value === '';
      for (const attr of attrs) {
        const [k, v = ''] = attr.split('=');
        const key = k!.trim().toLowerCase();
        if (key === 'path') path = v.trim() || '/';
        if (key === 'max-age' && Number(v) <= 0) expired = true;
        if (key === 'expires' && Date.parse(v) <= Date.now()) expired = true;
      }
      const id = `${url.hostname};${name};${path}`;
      if (expired) this.jar.delete(id);
      else this.jar.set(id, { name, value, path, host: url.hostname });
    }
  }

  private cookieHeader(url: URL): string {
    return [...this.jar.values()]
      .filter((c) => c.host === url.hostname && (url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }
}

/** The `action` of the first form on a page, resolved against the page's URL. */
export function formActionOf(html: string, pageUrl: string): string {
  const match = /<form[^>]*\baction="([^"]+)"/i.exec(html);
  if (match === null) throw new Error(`no form on the page: ${html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').slice(0, 200)}`);
  return new URL(match[1]!.replace(/&amp;/g, '&'), pageUrl).href;
}

/** A JWT (header.payload.signature, base64url JSON objects): the shape of the provider's access and ID tokens. */
export const JWT = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/;
