import type { IncomingMessage, ServerResponse } from 'node:http';
import { posix } from 'node:path';

/** Request bodies larger than this are answered with 413. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;
/** After a 413, at most this many further bytes are drained before the socket is dropped. */
const MAX_DRAIN_BYTES = 4 * MAX_BODY_BYTES;

/** The parts of a request target the routes need. */
export interface RequestTarget {
  /** The path exactly as received (no query), reported back by `/v1/echo`. */
  readonly rawPath: string;
  /**
   * The path used for routing: percent-decoded, backslashes treated as slashes, dot
   * segments and repeated slashes collapsed, a trailing slash dropped. Lenient like many real servers, so that a
   * proxy forwarding `/v1/../internal/marker` (in any spelling) really reaches
   * `/internal/marker` and the test notices.
   */
  readonly routePath: string;
  readonly query: URLSearchParams;
}

/** Parses `req.url`; returns null when it cannot be understood (answered with 400). */
export function parseTarget(rawUrl: string | undefined): RequestTarget | null {
  if (rawUrl === undefined || rawUrl.length === 0) return null;
  let url: URL;
  let rawPath: string;
  try {
    if (rawUrl.startsWith('/')) {
      // Prefixing an origin keeps '//host/x' a path instead of a protocol-relative URL.
      url = new URL(`http://upstream.invalid${rawUrl}`);
      const q = rawUrl.search(/[?#]/);
      rawPath = q === -1 ? rawUrl : rawUrl.slice(0, q);
    } else {
      url = new URL(rawUrl); // absolute-form, as sent to a forward proxy
      rawPath = url.pathname;
    }
  } catch {
    return null;
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(url.pathname);
  } catch {
    return null;
  }
  let routePath = posix.normalize(decoded.replace(/\\/g, '/'));
  if (!routePath.startsWith('/')) routePath = `/${routePath}`;
  if (routePath.length > 1 && routePath.endsWith('/')) routePath = routePath.slice(0, -1);
  return { rawPath, routePath, query: url.searchParams };
}

/** The query string as a plain object; repeated names become arrays. */
export function queryObject(query: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (const [name, value] of query) {
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [prev, value];
  }
  return out;
}

/** Sorted, lower-cased, de-duplicated names of the headers received. */
export function headerNames(req: IncomingMessage): string[] {
  const names = new Set<string>();
  for (let i = 0; i < req.rawHeaders.length; i += 2) names.add(req.rawHeaders[i]!.toLowerCase());
  return [...names].sort();
}

/** Sends a JSON body with `content-type: application/json`. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

/** Sends a status without a body (204, 205, 304, ...). */
export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, headers);
  res.end();
}

/** Sends `{"error": message}`. */
export function sendError(res: ServerResponse, status: number, message: string, headers?: Record<string, string>): void {
  sendJson(res, status, { error: message }, headers);
}

/** Result of {@link readBody}. */
export type BodyResult =
  | { readonly ok: true; readonly body: Buffer }
  | { readonly ok: false; readonly reason: 'too-large' | 'aborted' };

/**
 * Reads the request body, refusing more than `limit` bytes. On `too-large` the rest of
 * the body keeps being drained (up to a bound) so the client can read the 413 on a
 * healthy connection; past that bound the socket is dropped.
 */
export function readBody(req: IncomingMessage, limit: number = MAX_BODY_BYTES): Promise<BodyResult> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (result: BodyResult): void => {
      if (!settled) {
        settled = true;
        resolve(result);
      }
    };
    const chunks: Buffer[] = [];
    let received = 0;
    let drained = 0;
    let tooLarge = false;

    const declared = req.headers['content-length'];
    if (declared !== undefined && /^\d+$/.test(declared) && Number(declared) > limit) {
      tooLarge = true;
      settle({ ok: false, reason: 'too-large' });
    }

    req.on('data', (chunk: Buffer) => {
      if (tooLarge) {
        drained += chunk.length;
        if (drained > MAX_DRAIN_BYTES) req.destroy();
        return;
      }
      received += chunk.length;
      if (received > limit) {
        tooLarge = true;
        chunks.length = 0;
        settle({ ok: false, reason: 'too-large' });
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => settle({ ok: true, body: Buffer.concat(chunks, received) }));
    req.on('error', () => settle({ ok: false, reason: 'aborted' }));
    req.on('close', () => settle({ ok: false, reason: 'aborted' }));
  });
}
