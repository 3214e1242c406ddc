/** A cookie-keeping HTTP client over global fetch, for end-to-end tests. */
export interface Reply {
  status: number;
  headers: Headers;
  body: any;
  text: string;
  setCookies: string[];
}

export class Client {
  readonly jar = new Map<string, string>();

  constructor(readonly baseUrl: string) {}

  /** The raw Cookie header this client would send. */
  get cookieHeader(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async request(method: string, path: string, init: { body?: unknown; headers?: Record<string, string>; cookie?: string } = {}): Promise<Reply> {
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

  get(path: string, init?: { headers?: Record<string, string>; cookie?: string }): Promise<Reply> {
    return this.request('GET', path, init);
  }

  post(path: string, body?: unknown, init?: { headers?: Record<string, string>; cookie?: string }): Promise<Reply> {
    return this.request('POST', path, { ...init, body });
  }
}
