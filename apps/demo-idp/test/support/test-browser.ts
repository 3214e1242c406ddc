/**
 * A scripted browser for OAuth flows in tests: global `fetch` with manual redirects and a
 * small cookie jar (name, path and expiry honoured), so a test can walk the provider's
 * pages without Chromium. It never follows a redirect out of the origins it was told to
 * follow (`stopAt` ends the walk and hands back that URL, e.g. the client's callback).
 */
interface StoredCookie {
  readonly name: string;
  readonly value: string;
  readonly path: string;
}

/** One step of a walk: the response that ended it and, when stopped at `stopAt`, that URL. */
export interface WalkResult {
  readonly response: Response;
  readonly body: string;
  /** The URL of the last request. */
  readonly url: string;
  /** Set when a redirect pointed at `stopAt`: the full target (code, state, iss...). */
  readonly stoppedAt?: URL;
}

export class TestBrowser {
  readonly #jar = new Map<string, StoredCookie>();

  #store(res: Response, url: URL): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      if (eq <= 0) continue;
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      let path = url.pathname.replace(/\/[^/]*$/, '') || '/';
      let expired = value === '';
      for (const attr of attrs) {
        const [k, v = ''] = attr.split('=');
        const key = k!.trim().toLowerCase();
        if (key === 'path') path = v.trim() || '/';
        if (key === 'max-age' && Number(v) <= 0) expired = true;
        if (key === 'expires' && Date.parse(v) <= Date.now()) expired = true;
      }
      const id = `${name};${path}`;
      if (expired) this.#jar.delete(id);
      else this.#jar.set(id, { name, value, path });
    }
  }

  #cookieHeader(url: URL): string | undefined {
    const matching = [...this.#jar.values()].filter((c) => url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`));
    return matching.length === 0 ? undefined : matching.map((c) => `${c.name}=${c.value}`).join('; ');
  }

  /** Names of the cookies held (never their values). */
  get cookieNames(): string[] {
    return [...this.#jar.values()].map((c) => c.name);
  }

  /** One request, no redirect followed. */
  async request(url: string | URL, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const target = new URL(url);
    const headers: Record<string, string> = {};
    const cookie = this.#cookieHeader(target);
    if (cookie !== undefined) headers['cookie'] = cookie;
    let body: string | undefined;
    if (init.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const res = await fetch(target, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, body, redirect: 'manual' });
    this.#store(res, target);
    return res;
  }

  /**
   * Requests `url` and follows redirects (at most 10) until a page answers or a redirect
   * points at `stopAt` (not requested).
   */
  async walk(url: string | URL, options: { stopAt?: string; method?: string; form?: Record<string, string> } = {}): Promise<WalkResult> {
    let current = new URL(url);
    let res = await this.request(current, { method: options.method, form: options.form });
    for (let hops = 0; hops < 10; hops++) {
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || location === null) break;
      await res.arrayBuffer();
      const next = new URL(location, current);
      if (options.stopAt !== undefined && next.href.startsWith(options.stopAt)) {
        return { response: res, body: '', url: current.href, stoppedAt: next };
      }
      current = next;
      res = await this.request(current);
    }
    return { response: res, body: await res.text(), url: current.href };
  }
}

/** The `action` of the first form on a page, resolved against the page's URL. */
export function formAction(html: string, pageUrl: string): string {
  const match = /<form[^>]*\baction="([^"]+)"/i.exec(html);
  if (match === null) throw new Error('no form with an action on the page');
  return new URL(match[1]!.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n))).replace(/&amp;/g, '&'), pageUrl).href;
}

/** Hidden inputs of a page's forms (name -> value). */
export function hiddenFields(html: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const match of html.matchAll(/<input[^>]*type="hidden"[^>]*>/gi)) {
    const name = /\bname="([^"]*)"/.exec(match[0]);
    const value = /\bvalue="([^"]*)"/.exec(match[0]);
    if (name !== null) out[name[1]!] = value?.[1] ?? '';
  }
  return out;
}
