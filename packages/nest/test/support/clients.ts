/** Cookie-keeping HTTP clients over global fetch, for end-to-end tests. */
export interface Reply {
  status: number;
  headers: Headers;
  body: any;
  text: string;
  setCookies: string[];
}

export interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Sent instead of the jar's cookies. */
  cookie?: string;
}

/** Keeps the cookies the server sets (and drops the ones it clears); sends nothing else of its own. */
export class Client {
  readonly jar = new Map<string, string>();

  constructor(readonly baseUrl: string) {}

  /** The raw Cookie header this client would send. */
  get cookieHeader(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async request(method: string, path: string, init: CallOptions = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...init.headers };
    const cookie = init.cookie ?? this.cookieHeader;
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (init.body !== undefined) {
      body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(this.baseUrl + path, { method, headers, body, redirect: 'manual' });
    const text = await res.text();
    const setCookies = res.headers.getSetCookie();
    for (const sc of setCookies) {
      const [pair, ...attrs] = sc.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const cleared = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '';
      if (cleared) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, body: parsed, text, setCookies };
  }

  get(path: string, init?: Omit<CallOptions, 'body'>): Promise<Reply> {
    return this.request('GET', path, init);
  }

  post(path: string, body?: unknown, init?: Omit<CallOptions, 'body'>): Promise<Reply> {
    return this.request('POST', path, { ...init, body });
  }

  put(path: string, body?: unknown, init?: Omit<CallOptions, 'body'>): Promise<Reply> {
    return this.request('PUT', path, { ...init, body });
  }

  delete(path: string, init?: Omit<CallOptions, 'body'>): Promise<Reply> {
    return this.request('DELETE', path, init);
  }
}

/**
 * Behaves like the app's own page towards the app's routes: every state-changing request
 * carries `X-CSRF: 1` and the app's own `Origin`, as the origin guard requires. Tests that
 * are not about CSRF use this so that they keep passing with the guard on.
 */
export class AppClient extends Client {
  override request(method: string, path: string, init: CallOptions = {}): Promise<Reply> {
    const unsafe = !['GET', 'HEAD', 'OPTIONS'].includes(method.toUpperCase());
    const headers = unsafe ? { 'x-csrf': '1', origin: new URL(this.baseUrl).origin, ...init.headers } : init.headers;
    return super.request(method, path, { ...init, headers });
  }
}

/** Behaves like the app's own page on every request, reads included (as proxied calls need): `X-CSRF: 1` and its own Origin. */
export class PageClient extends Client {
  override request(method: string, path: string, init: CallOptions = {}): Promise<Reply> {
    return super.request(method, path, { ...init, headers: { 'x-csrf': '1', origin: new URL(this.baseUrl).origin, ...init.headers } });
  }
}
