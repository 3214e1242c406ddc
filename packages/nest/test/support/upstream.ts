import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, validateHeaderValue, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { posix } from 'node:path';
import { after, before } from 'node:test';
import { TEXT_ENCODINGS } from './secrets.js';

/**
 * The library's own test upstream: a real node:http server that takes API keys, as the
 * third-party APIs behind a Keyward proxy do. It serves exactly what the tests call:
 *
 * - `/v1/*` needs a key in `x-api-key` (wins) or `Authorization: Bearer`, else 401:
 *   `ANY /v1/echo[?reflect=1|b64|url|<encoding>]` (what arrived; `reflect` sends the key back,
 *   as a careless API would; an `<encoding>` of `TEXT_ENCODINGS` in `secrets.ts` writes it
 *   into the JSON text and a header as that language's encoder would), `ANY /v1/status/:code`,
 *   and `GET /v1/set-cookie`, `/v1/hop`,
 *   `/v1/redirect?to=`, `/v1/slow?ms=`, `/v1/big?bytes=`;
 * - `/admin/keys` (`Authorization: Bearer <adminToken>`): `POST` mints, `GET|DELETE /admin/keys/:id`;
 * - `/internal/*` is counted in `stats().internalHits` (`/internal/marker` answers 200), so a
 *   proxy test can assert that no path escape reached it. Routing decodes and normalises
 *   the path, as lenient servers do, so that an escape the proxy let through is noticed.
 */
export interface UpstreamHandle {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly url: string;
  close(): Promise<void>;
  /** Mints a key in-process, as `POST /admin/keys` does (`label` is accepted and not kept). */
  mint(options?: { ttlMs?: number; label?: string }): MintedKey;
  /** Revokes a minted key; false if the id is unknown. */
  revoke(id: string): boolean;
  keyStatus(id: string): { id: string; active: boolean } | undefined;
  /** Accepts another server key under `id` (default the next `server-N`); returns the id. */
  addServerKey(key: string, id?: string): string;
  removeServerKey(id: string): boolean;
  stats(): UpstreamStats;
  adminStats(): { minted: number; revoked: number; active: number; requests: number };
  /** Resets the counters of {@link stats}. */
  resetStats(): void;
  /**
   * Also accepts a Bearer that `check` accepts (an authorization server's access tokens):
   * such a call's `keyId` is `oauth`, and the token is counted in {@link bearersSeen}.
   */
  acceptBearer(check: (token: string) => boolean): void;
  /** How many calls each accepted Bearer (by `acceptBearer`) made, in order of first use (values, for the test's leak search). */
  bearersSeen(): Map<string, number>;
}

export interface UpstreamStats {
  requests: number;
  /** Requests whose normalised path is under `/internal`. */
  internalHits: number;
  /** The last request: method, raw path (no query), sorted header names (never values). */
  lastRequest: { method: string; path: string; headerNames: readonly string[] } | null;
  /** `/v1/slow` calls whose client went away before the answer. */
  slowCancelled: number;
}

export interface MintedKey {
  id: string;
  key: string;
  expiresAt: string;
}

const DAY_MS = 24 * 3_600_000;

interface MintedRecord {
  id: string;
  kind: 'minted';
  expiresAt: number;
  revoked: boolean;
}
type Key = { id: string; kind: 'server' } | MintedRecord;

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');
const isActive = (k: Key): boolean => k.kind === 'server' || (!k.revoked && Date.now() < k.expiresAt);

/** Starts the test upstream on a free loopback port. `serverKeys` given as strings get the ids `server-1`, `server-2`, ... */
export async function startUpstream(options: { serverKeys: Array<string | { id: string; key: string }>; adminToken: string }): Promise<UpstreamHandle> {
  const upstream = new TestUpstream(options.adminToken);
  for (const k of options.serverKeys) upstream.addServerKey(typeof k === 'string' ? k : k.key, typeof k === 'string' ? undefined : k.id);
  const server = createServer((req, res) => {
    req.on('error', () => {});
    res.on('error', () => {});
    upstream.handle(req, res);
  });
  // Idle connections stay open longer than the proxy's pool keeps them (no close race under a pooled request).
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  let closing: Promise<void> | undefined;
  return Object.assign(upstream, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      (closing ??= new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      })),
  });
}

/** The keys, the counters and the routes. Keys are kept as SHA-256 digests only. */
class TestUpstream implements Omit<UpstreamHandle, 'url' | 'close'> {
  private readonly byDigest = new Map<string, Key>();
  private readonly digestOf = new Map<string, string>(); // key id -> digest
  private readonly counts = { minted: 0, revoked: 0 };
  private counters: UpstreamStats = { requests: 0, internalHits: 0, lastRequest: null, slowCancelled: 0 };
  private nextServer = 1;
  private bearerCheck: ((token: string) => boolean) | undefined;
  private readonly bearers = new Map<string, number>();

  constructor(private readonly adminToken: string) {}

  acceptBearer(check: (token: string) => boolean): void {
    this.bearerCheck = check;
  }

  bearersSeen(): Map<string, number> {
    return new Map(this.bearers);
  }

  mint({ ttlMs = DAY_MS }: { ttlMs?: number; label?: string } = {}): MintedKey {
    const id = `mk_${randomBytes(8).toString('hex')}`;
    const key = `dk_live_${randomBytes(32).toString('base64url')}`;
    const expiresAt = Date.now() + ttlMs;
    this.add(key, { id, kind: 'minted', expiresAt, revoked: false });
    this.counts.minted++;
    return { id, key, expiresAt: new Date(expiresAt).toISOString() };
  }

  revoke(id: string): boolean {
    const k = this.minted(id);
    if (!k) return false;
    if (!k.revoked) this.counts.revoked++;
    k.revoked = true;
    return true;
  }

  keyStatus(id: string): { id: string; active: boolean } | undefined {
    const k = this.minted(id);
    return k && { id, active: isActive(k) };
  }

  addServerKey(key: string, id?: string): string {
    while (id === undefined && this.digestOf.has(`server-${this.nextServer}`)) this.nextServer++;
    const keyId = id ?? `server-${this.nextServer++}`;
    this.add(key, { id: keyId, kind: 'server' });
    return keyId;
  }

  removeServerKey(id: string): boolean {
    const digest = this.digestOf.get(id);
    if (digest === undefined || this.byDigest.get(digest)!.kind !== 'server') return false;
    this.byDigest.delete(digest);
    this.digestOf.delete(id);
    return true;
  }

  stats(): UpstreamStats {
    return { ...this.counters, lastRequest: this.counters.lastRequest && { ...this.counters.lastRequest } };
  }

  adminStats(): { minted: number; revoked: number; active: number; requests: number } {
    const active = [...this.byDigest.values()].filter((k) => k.kind === 'minted' && isActive(k)).length;
    return { ...this.counts, active, requests: this.counters.requests };
  }

  resetStats(): void {
    this.counters = { requests: 0, internalHits: 0, lastRequest: null, slowCancelled: 0 };
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const rawPath = (req.url ?? '').split(/[?#]/)[0]!;
    const headerNames = [...new Set(req.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase()))].sort();
    this.counters.requests++;
    this.counters.lastRequest = { method: req.method!, path: rawPath, headerNames };
    const url = new URL(`http://upstream.invalid${rawPath.startsWith('/') ? req.url : '/'}`);
    let path: string;
    try {
      // Lenient like many real servers: decoded, backslashes as slashes, dot segments resolved.
      path = posix.normalize(decodeURIComponent(url.pathname).replace(/\\/g, '/')).replace(/(.)\/$/, '$1');
    } catch {
      return json(res, 400, { error: 'malformed path' });
    }
    if (path === '/internal' || path.startsWith('/internal/')) {
      this.counters.internalHits++;
      return path === '/internal/marker' ? json(res, 200, { internal: 'reached' }) : json(res, 404, { error: 'not found' });
    }
    if (path.startsWith('/admin/')) return this.admin(req, res, path);
    if (path.startsWith('/v1/')) return this.v1(req, res, path.slice('/v1'.length), url.searchParams, { rawPath, headerNames });
    json(res, 404, { error: 'not found' });
  }

  /** `POST /admin/keys` ({ttlMs?}), `GET|DELETE /admin/keys/:id`, with `Authorization: Bearer <adminToken>`. */
  private admin(req: IncomingMessage, res: ServerResponse, path: string): void {
    const token = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!token || !secretsEqual(token, this.adminToken)) return json(res, 401, { error: 'invalid or missing admin token' });
    if (path === '/admin/keys' && req.method === 'POST') {
      return void readBody(req).then((body) => json(res, 201, this.mint(body.length ? (JSON.parse(body.toString()) as { ttlMs?: number }) : {})));
    }
    const id = /^\/admin\/keys\/([^/]+)$/.exec(path)?.[1] ?? '';
    const status = this.keyStatus(id);
    if (!status) return json(res, 404, { error: 'unknown key id' });
    if (req.method !== 'DELETE') return json(res, 200, status);
    this.revoke(id);
    res.writeHead(204).end();
  }

  /** `/v1/*`: the key in `x-api-key` (wins) or `Authorization: Bearer`. */
  private v1(req: IncomingMessage, res: ServerResponse, route: string, query: URLSearchParams, seen: { rawPath: string; headerNames: string[] }): void {
    const apiKey = req.headers['x-api-key'];
    const presented = typeof apiKey === 'string' && apiKey ? apiKey : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(req.headers.authorization ?? '')?.[1];
    let key: Key | undefined = presented ? this.byDigest.get(sha256(presented)) : undefined;
    if (presented && !key && this.bearerCheck?.(presented)) {
      key = { id: 'oauth', kind: 'server' };
      this.bearers.set(presented, (this.bearers.get(presented) ?? 0) + 1);
    }
    if (!presented || !key || !isActive(key)) return json(res, 401, { error: 'invalid or missing api key' });
    if (route === '/echo') return void readBody(req).then((body) => echo(res, { method: req.method!, ...seen, query, keyId: key.id, presented, bodyBytes: body.length }));
    const status = /^\/status\/(\d{3})$/.exec(route)?.[1];
    if (status) return json(res, Number(status), { status: Number(status) });
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: 'method not allowed' });
    switch (route) {
      case '/set-cookie':
        return json(res, 200, { ok: true }, { 'set-cookie': 'upstream=1; Path=/' });
      case '/hop':
        return json(res, 200, { ok: true }, { 'keep-alive': 'timeout=5', 'proxy-authenticate': 'Basic', 'x-upstream': '1' });
      case '/redirect': {
        const to = query.get('to');
        return to && headerSafe(to) ? json(res, 302, { location: to }, { location: to }) : json(res, 400, { error: 'to must be a header-safe location' });
      }
      case '/slow':
        return this.slow(res, Math.min(Number(query.get('ms')) || 0, 30_000));
      case '/big': {
        const bytes = Math.min(Number(query.get('bytes')) || 0, 50 * 1024 * 1024);
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(bytes) });
        return void res.end(Buffer.alloc(bytes, 'a'));
      }
      default:
        return json(res, 404, { error: 'not found' });
    }
  }

  /** Answers after `ms`; counts the call as cancelled if the client goes away first. */
  private slow(res: ServerResponse, ms: number): void {
    const onClose = (): void => {
      clearTimeout(timer);
      this.counters.slowCancelled++;
    };
    const timer = setTimeout(() => {
      res.off('close', onClose);
      json(res, 200, { slept: ms });
    }, ms);
    res.once('close', onClose);
  }

  private minted(id: string): MintedRecord | undefined {
    const k = this.byDigest.get(this.digestOf.get(id) ?? '');
    return k?.kind === 'minted' ? k : undefined;
  }

  private add(secret: string, key: Key): void {
    const digest = sha256(secret);
    if (this.digestOf.has(key.id) || this.byDigest.has(digest)) throw new TypeError(`duplicate key or key id '${key.id}'`);
    this.byDigest.set(digest, key);
    this.digestOf.set(key.id, digest);
  }
}

/**
 * What arrived (header names only); `?reflect=1|b64|url` also sends the key back in the body
 * and a header; `?reflect=<encoding>` (a name of `TEXT_ENCODINGS`) writes the key so
 * encoded, as is, into the JSON text (so `JSON.parse` reads the key back from a JSON escape)
 * and into the `x-received-key` header.
 */
function echo(res: ServerResponse, r: { method: string; rawPath: string; headerNames: string[]; query: URLSearchParams; keyId: string; presented: string; bodyBytes: number }): void {
  const mode = r.query.get('reflect');
  const encoding = mode !== null && Object.hasOwn(TEXT_ENCODINGS, mode) ? TEXT_ENCODINGS[mode]! : undefined;
  const reflected = mode === '1' ? r.presented : mode === 'b64' ? Buffer.from(r.presented).toString('base64') : mode === 'url' ? encodeURIComponent(r.presented) : encoding?.(r.presented);
  const query: Record<string, string | string[]> = {};
  for (const name of new Set(r.query.keys())) query[name] = r.query.getAll(name).length > 1 ? r.query.getAll(name) : r.query.get(name)!;
  const body = { method: r.method, path: r.rawPath, query, headerNames: r.headerNames, keyId: r.keyId, bodyBytes: r.bodyBytes, ...(reflected !== undefined && !encoding ? { receivedKey: reflected } : {}) };
  const headers: Record<string, string> = reflected !== undefined && headerSafe(reflected) ? { 'x-received-key': reflected } : {};
  if (!encoding) return json(res, 200, body, headers);
  // The encoded text goes in as it is, not escaped again by JSON.stringify.
  const text = `${JSON.stringify(body).slice(0, -1)},"receivedKey":"${reflected}"}`;
  res.writeHead(200, { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) }).end(text);
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) }).end(text);
}

/** Constant-time comparison of two secrets (compared as digests, so any lengths). */
function secretsEqual(a: string, b: string): boolean {
  return timingSafeEqual(Buffer.from(sha256(a), 'hex'), Buffer.from(sha256(b), 'hex'));
}

function headerSafe(value: string): boolean {
  try {
    validateHeaderValue('x', value);
    return true;
  } catch {
    return false;
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

/**
 * A test upstream for one test file: started before the file's tests (handed to `onStart`)
 * and closed after them, as `redisSuite` does for Redis.
 */
export function upstreamSuite(options: Parameters<typeof startUpstream>[0], onStart: (upstream: UpstreamHandle) => void): void {
  let upstream: UpstreamHandle | undefined;
  before(async () => {
    upstream = await startUpstream(options);
    onStart(upstream);
  });
  after(() => upstream?.close());
}
