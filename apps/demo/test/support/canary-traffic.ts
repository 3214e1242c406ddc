/**
 * The canary harness's HTTP side: every request of a combination goes through one
 * {@link Traffic}, which counts it, checks its status against what was expected and captures
 * the whole response (status line, headers, body) for the scan; session cookies the app
 * issues are learned as canaries. A {@link Visitor} is one browser-like client with its own
 * session cookie.
 */
import { Agent } from 'undici';
import type { Canary } from './canary-detector.js';

export interface SendOptions {
  /** Allowed statuses; 0 stands for a request the server cut off (connection reset). */
  expect: number[];
  json?: unknown;
  raw?: string | Buffer;
  contentType?: string;
  /** Exact Cookie header; null sends none; undefined sends the visitor's own. */
  cookie?: string | null;
  /** Send `X-CSRF: 1` (default true). */
  csrf?: boolean;
  /** Origin header; null sends none; undefined sends the app's own. */
  origin?: string | null;
  headers?: Record<string, string>;
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json: any;
}

const SESSION_COOKIE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)=([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{43})(?=;|$)/;

/** Counts, captures and checks every request of one combination. */
export class Traffic {
  readonly agent = new Agent({ connections: 40, pipelining: 1, keepAliveTimeout: 30_000 });
  /** Captured responses: the text a leak would have to appear in. */
  readonly responses: Array<{ source: string; bytes: Buffer }> = [];
  readonly statusCounts = new Map<string, number>();
  readonly unexpected: string[] = [];
  requests = 0;
  errors = 0;
  /** Responses in which the app replaced an echoed key with [REDACTED] (the reflecting upstream did reflect). */
  redactedEchoes = 0;
  /** Cookie names and values the app issued. */
  readonly cookies = new Set<string>();

  constructor(
    readonly base: string,
    private readonly learn: (c: Canary) => void,
  ) {}

  async send(name: string, method: string, path: string, o: SendOptions, ownCookie?: string): Promise<Reply> {
    const headers: Record<string, string> = {};
    if (o.csrf !== false) headers['x-csrf'] = '1';
    if (o.origin !== null) headers.origin = o.origin ?? this.base;
    const cookie = o.cookie === undefined ? ownCookie : o.cookie;
    if (cookie) headers.cookie = cookie;
    let body: string | Buffer | undefined;
    if (o.json !== undefined) body = JSON.stringify(o.json);
    if (o.raw !== undefined) body = o.raw;
    if (body !== undefined) headers['content-type'] = o.contentType ?? 'application/json';
    Object.assign(headers, o.headers);
    this.requests++;
    let reply: Reply;
    try {
      // origin + path: the path goes out byte for byte (a URL object would resolve `%2e%2e` segments client-side).
      const res = await this.agent.request({ origin: this.base, path, method: method as 'GET', headers, body, headersTimeout: 20_000, bodyTimeout: 20_000 });
      const bytes = Buffer.from(await res.body.arrayBuffer());
      let json: unknown;
      try {
        json = bytes.length > 0 ? JSON.parse(bytes.toString('utf8')) : undefined;
      } catch {
        json = undefined;
      }
      reply = { status: res.statusCode, headers: res.headers as Reply['headers'], body: bytes, json };
    } catch (e) {
      this.errors++;
      reply = { status: 0, headers: {}, body: Buffer.from(e instanceof Error ? `${e.name}: ${e.message}` : 'error'), json: undefined };
    }
    if (reply.body.includes('[REDACTED]')) this.redactedEchoes++;
    this.capture(name, method, path, reply);
    const key = `${name} ${reply.status}`;
    this.statusCounts.set(key, (this.statusCounts.get(key) ?? 0) + 1);
    if (!o.expect.includes(reply.status)) {
      this.unexpected.push(`${name}: ${method} ${path.slice(0, 80)} -> ${reply.status} (expected ${o.expect.join('|')}) ${reply.body.toString('utf8').slice(0, 160)}`);
    }
    return reply;
  }

  /** Status line, every header, body. Session cookies the app issues are learned as canaries and masked in their own Set-Cookie. */
  private capture(name: string, method: string, path: string, reply: Reply): void {
    const lines: string[] = [`HTTP ${reply.status}`];
    for (const [h, v] of Object.entries(reply.headers)) {
      for (const value of Array.isArray(v) ? v : v === undefined ? [] : [v]) {
        let shown = value;
        if (h.toLowerCase() === 'set-cookie') {
          const m = SESSION_COOKIE.exec(value);
          if (m) {
            this.learnCookie(m[2]!, m[3]!);
            // The one place a session cookie legitimately appears: its own Set-Cookie.
            shown = `${m[1]}=«issued session cookie»${value.slice(m[0].length)}`;
          }
        }
        lines.push(`${h}: ${shown}`);
      }
    }
    this.responses.push({ source: `response ${name} ${method} ${path.slice(0, 60)} -> ${reply.status}`, bytes: Buffer.concat([Buffer.from(`${lines.join('\n')}\n\n`, 'latin1'), reply.body]) });
  }

  private learnCookie(id: string, sig: string): void {
    const value = `${id}.${sig}`;
    if (this.cookies.has(value)) return;
    this.cookies.add(value);
    this.learn({ kind: 'session-cookie', label: `session cookie #${this.cookies.size}`, value });
    this.learn({ kind: 'session-id', label: `session id #${this.cookies.size}`, value: id });
    this.learn({ kind: 'session-cookie', label: `session cookie signature #${this.cookies.size}`, value: sig });
  }

  bytes(): number {
    return this.responses.reduce((n, r) => n + r.bytes.length, 0);
  }

  private closing: Promise<void> | undefined;

  /** Closes the keep-alive connections (idempotent). */
  close(): Promise<void> {
    this.closing ??= this.agent.close();
    return this.closing;
  }
}

/** The session cookie from a reply's Set-Cookie, if it carries a fresh one. */
function issuedCookie(reply: Reply): string | undefined {
  const v = reply.headers['set-cookie'];
  for (const value of Array.isArray(v) ? v : v ? [v] : []) {
    const m = SESSION_COOKIE.exec(value);
    if (m) return `${m[1]}=${m[2]}.${m[3]}`;
  }
  return undefined;
}

/** One browser-like client with its own session cookie. */
export class Visitor {
  cookie: string | undefined;
  constructor(
    readonly traffic: Traffic,
    readonly user: { name: string; password: string },
  ) {}

  send(name: string, method: string, path: string, o: SendOptions): Promise<Reply> {
    return this.traffic.send(name, method, path, o, this.cookie);
  }

  async login(name = 'login-ok'): Promise<Reply> {
    const r = await this.send(name, 'POST', '/api/auth/login', { json: { username: this.user.name, password: this.user.password }, cookie: null, expect: [200] });
    this.cookie = issuedCookie(r) ?? this.cookie;
    return r;
  }
}
