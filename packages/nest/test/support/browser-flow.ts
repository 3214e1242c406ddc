/**
 * A scripted browser for OAuth flows across two origins (the app, the authorization
 * server): one cookie jar per origin, redirects followed by hand (so each hop can be
 * inspected or stopped), and a transcript of everything it received (for leak searches).
 * App requests carry what the app's own page sends (`X-CSRF: 1`, its Origin).
 */
export interface Hop {
  status: number;
  url: string;
  location: string | null;
  setCookies: string[];
  text: string;
  body: any;
}

export class FlowBrowser {
  readonly jars = new Map<string, Map<string, string>>();
  /** Every response this browser received: status line, headers, body. */
  transcript = '';

  constructor(readonly appUrl: string) {}

  private jar(origin: string): Map<string, string> {
    let j = this.jars.get(origin);
    if (!j) this.jars.set(origin, (j = new Map()));
    return j;
  }

  /** One request, no redirect followed. */
  async request(method: string, url: string, init: { form?: Record<string, string>; json?: unknown; headers?: Record<string, string>; cookie?: string } = {}): Promise<Hop> {
    const u = new URL(url, this.appUrl);
    const headers: Record<string, string> = { ...init.headers };
    const jar = this.jar(u.origin);
    const cookie = init.cookie ?? [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    if (cookie) headers.cookie = cookie;
    if (u.origin === new URL(this.appUrl).origin) Object.assign(headers, { 'x-csrf': '1', origin: u.origin, 'sec-fetch-site': 'same-origin' }, init.headers);
    let body: string | undefined;
    if (init.form) {
      body = new URLSearchParams(init.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else if (init.json !== undefined) {
      body = JSON.stringify(init.json);
      headers['content-type'] = 'application/json';
    }
    const res = await fetch(u, { method, headers, body, redirect: 'manual' });
    const text = await res.text();
    const setCookies = res.headers.getSetCookie();
    for (const sc of setCookies) {
      const [pair, ...attrs] = sc.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '' || attrs.some((a) => /expires=thu, 01 jan 1970/i.test(a))) jar.delete(name);
      else jar.set(name, value);
    }
    this.transcript += `\n${res.status} ${u.href}\n${[...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n${text}`;
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    const location = res.headers.get('location');
    return { status: res.status, url: u.href, location: location && new URL(location, u).href, setCookies, text, body: parsed };
  }

  /** Follows redirects from `url` until an answer that is not a redirect, or until `stop(url)` says so (returns that URL's hop unfetched). */
  async follow(url: string, stop: (next: URL) => boolean = () => false): Promise<{ last: Hop | null; stoppedAt: string | null }> {
    let next: string | null = url;
    let last: Hop | null = null;
    for (let i = 0; i < 15 && next; i++) {
      if (i > 0 && stop(new URL(next))) return { last, stoppedAt: next };
      last = await this.request('GET', next);
      next = last.status >= 300 && last.status < 400 ? last.location : null;
    }
    return { last, stoppedAt: null };
  }

  /**
   * Starts a connection at the app and plays the user at the provider (log in, or deny)
   * until the provider sends the browser back: returns the callback URL, not yet visited.
   */
  async untilCallback(name: string, opts: { returnTo?: string; deny?: boolean; user?: string } = {}): Promise<string> {
    const start = await this.request('GET', `/api/connect/${name}${opts.returnTo ? `?returnTo=${encodeURIComponent(opts.returnTo)}` : ''}`);
    if (start.status !== 302 || !start.location) throw new Error(`start answered ${start.status}: ${start.text}`);
    const isCallback = (u: URL): boolean => u.pathname === `/api/connect/${name}/callback`;
    const toLogin = await this.follow(start.location, isCallback);
    const page = toLogin.last!;
    const uid = /\/interaction\/([A-Za-z0-9_-]+)$/.exec(page.url)?.[1];
    if (!uid) throw new Error(`no login page: ${page.status} ${page.url}`);
    const submitted = await this.request('POST', `${new URL(page.url).origin}/interaction/${uid}/${opts.deny ? 'deny' : 'login'}`, { form: { login: opts.user ?? 'alice' } });
    if (!submitted.location) throw new Error(`login answered ${submitted.status}: ${submitted.text}`);
    if (isCallback(new URL(submitted.location))) return submitted.location;
    const back = await this.follow(submitted.location, isCallback);
    if (!back.stoppedAt) throw new Error(`the provider did not send the browser back: ${back.last?.status} ${back.last?.url} ${back.last?.text}`);
    return back.stoppedAt;
  }
}
