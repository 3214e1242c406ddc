// A node:http server on loopback that answers the way a Keyward app does: JSON errors
// `{ error, code, requestId }` with `X-Request-Id` and `Cache-Control: no-store`, `Retry-After`
// on 429/503, the session route with `?slide=false`, proxy routes below `/api/proxy/`. Each
// test installs the answers it needs; every request is recorded as it arrived.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the server received it. */
export interface Seen {
  method: string;
  /** Path and query, as sent. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** When it arrived (ms since the epoch). */
  at: number;
}

/** Answers one request; `n` counts the requests this route has seen (1 for the first). */
export type Handler = (req: Seen, res: ServerResponse, n: number) => unknown;

/** Writes a Keyward error answer. */
export function keywardError(res: ServerResponse, status: number, code: string, error: string, headers: Record<string, string> = {}): void {
  const requestId = randomUUID();
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-request-id': requestId, ...headers });
  res.end(JSON.stringify({ error, code, requestId }));
}

/** Writes a JSON answer. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-request-id': randomUUID(), ...headers });
  res.end(JSON.stringify(body));
}

export class KeywardLikeServer {
  readonly requests: Seen[] = [];
  private readonly routes = new Map<string, { handler: Handler; count: number }>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<KeywardLikeServer> {
    let self: KeywardLikeServer | undefined;
    const server = createServer((req, res) => void self!.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const { port } = server.address() as AddressInfo;
    self = new KeywardLikeServer(server, `http://127.0.0.1:${port}`);
    return self;
  }

  /** Installs the answer for a method and path (query ignored), replacing any earlier one; counts restart. */
  on(method: string, path: string, handler: Handler): void {
    this.routes.set(`${method} ${path}`, { handler, count: 0 });
  }

  /** Requests recorded for a path (query ignored). */
  seen(path: string): Seen[] {
    return this.requests.filter((r) => r.url.split('?')[0] === path);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const seen: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
    this.requests.push(seen);
    const route = this.routes.get(`${seen.method} ${seen.url.split('?')[0]}`);
    if (!route) return keywardError(res, 404, 'KW_HTTP_404', 'Not found.');
    // Keyward's origin guard: every state-changing and proxied request needs the CSRF header.
    const guarded = seen.method !== 'GET' && seen.method !== 'HEAD' || seen.url.startsWith('/api/proxy/');
    if (guarded && req.headers['x-csrf'] !== '1') return keywardError(res, 403, 'KW_CSRF_HEADER_MISSING', 'Missing the X-CSRF header.');
    try {
      await route.handler(seen, res, ++route.count);
    } catch (err) {
      if (!res.headersSent) keywardError(res, 500, 'KW_INTERNAL', 'Internal error.');
      throw err;
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }
}
