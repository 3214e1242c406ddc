import type { IncomingMessage } from 'node:http';
import { validateHeaderValue } from 'node:http';
import { queryObject, readBody, sendEmpty, sendError, sendJson } from '../http-io.js';
import { type TokenPrincipal, looksLikeJwt } from '../access-tokens.js';
import type { Authenticated } from '../key-registry.js';
import { type RouteContext, isRead } from './context.js';

/** `/v1/slow` never sleeps longer than this. */
export const MAX_SLOW_MS = 30_000;
/** `/v1/big` never sends more than this. */
export const MAX_BIG_BYTES = 50 * 1024 * 1024;
/** Where `/v1/redirect` points when no `to` is given (an address nothing listens on). */
export const DEFAULT_REDIRECT_TARGET = 'http://127.0.0.2:1/elsewhere';

const BIG_CHUNK = Buffer.alloc(64 * 1024, 'a');

/**
 * The key a request presents: the `x-api-key` header, or else `Authorization: Bearer`.
 * When `x-api-key` is present it wins, even if a bearer token is also sent.
 */
export function presentedKey(req: IncomingMessage): string | null {
  const header = req.headers['x-api-key'];
  if (typeof header === 'string' && header.length > 0) return header;
  const authorization = req.headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
    if (match !== null) return match[1]!;
  }
  return null;
}

/** How a `/v1/` request authenticated: with a key, or with an access token of the identity provider. */
export type V1Auth =
  | { readonly kind: 'key'; readonly key: Authenticated; readonly value: string }
  | { readonly kind: 'bearer'; readonly principal: TokenPrincipal };

/**
 * Authenticates a `/v1/` request. `x-api-key` is always a key. A JWT-shaped bearer is an
 * access token when access tokens are accepted (checked only as one: a forged or expired
 * token never falls back to the key list); any other bearer is a key.
 */
async function authenticate(ctx: RouteContext): Promise<V1Auth | 'bad-token' | null> {
  const key = presentedKey(ctx.req);
  if (key === null) return null;
  const viaHeader = typeof ctx.req.headers['x-api-key'] === 'string' && ctx.req.headers['x-api-key'].length > 0;
  if (!viaHeader && ctx.accessTokens !== null && looksLikeJwt(key)) {
    const principal = await ctx.accessTokens.verify(key);
    return principal === null ? 'bad-token' : { kind: 'bearer', principal };
  }
  const auth = ctx.registry.authenticate(key);
  return auth === null ? null : { kind: 'key', key: auth, value: key };
}

/** Handles everything under `/v1/`: authenticates the key or access token, then dispatches. */
export async function handleV1(ctx: RouteContext): Promise<void> {
  const auth = await authenticate(ctx);
  if (auth === 'bad-token') {
    sendError(ctx.res, 401, 'invalid access token', { 'www-authenticate': 'Bearer error="invalid_token"' });
    return;
  }
  if (auth === null) {
    sendError(ctx.res, 401, 'invalid or missing api key');
    return;
  }
  const sub = ctx.routePath.slice('/v1'.length);
  if (sub === '/echo') return echo(ctx, auth);
  const status = /^\/status\/([^/]*)$/.exec(sub);
  if (status !== null) return statusCode(ctx, status[1]!);

  const readOnly: Record<string, (ctx: RouteContext) => void> = {
    '/set-cookie': setCookie,
    '/redirect': redirect,
    '/slow': slow,
    '/big': big,
    '/hop': hop,
  };
  const handler = Object.hasOwn(readOnly, sub) ? readOnly[sub] : undefined;
  if (handler === undefined) {
    sendError(ctx.res, 404, 'not found');
    return;
  }
  if (!isRead(ctx.method)) {
    sendError(ctx.res, 405, 'method not allowed', { allow: 'GET, HEAD' });
    return;
  }
  handler(ctx);
}

/**
 * `ANY /v1/echo`: what the upstream received (header names only). With a key: `auth: "key"`,
 * the `keyId`, and with `?reflect=` the key itself, as a careless upstream would. With an
 * access token: `auth: "bearer"`, its `sub`, `clientId` and `scope`, never the token.
 */
async function echo(ctx: RouteContext, auth: V1Auth): Promise<void> {
  const body = await readBody(ctx.req);
  if (!body.ok) {
    if (body.reason === 'too-large') sendError(ctx.res, 413, 'request body too large');
    return;
  }
  const payload: Record<string, unknown> = {
    method: ctx.method,
    path: ctx.rawPath,
    query: queryObject(ctx.query),
    headerNames: ctx.headerNames,
    auth: auth.kind,
    keyId: auth.kind === 'key' ? auth.key.keyId : null,
    ...(auth.kind === 'bearer' && { sub: auth.principal.sub, clientId: auth.principal.clientId, scope: auth.principal.scope }),
    bodyBytes: body.body.length,
  };
  const headers: Record<string, string> = {};
  if (auth.kind === 'bearer') {
    sendJson(ctx.res, 200, payload, headers);
    return;
  }
  const key = auth.value;
  const reflect = ctx.query.get('reflect');
  const reflected =
    reflect === '1' ? key
    : reflect === 'b64' ? Buffer.from(key, 'utf8').toString('base64')
    : reflect === 'url' ? encodeURIComponent(key)
    : undefined;
  if (reflected !== undefined) {
    // A careless upstream: the key comes back in the body and in a response header.
    payload['receivedKey'] = reflected;
    try {
      validateHeaderValue('x-received-key', reflected);
      headers['x-received-key'] = reflected;
    } catch {
      // not representable as a header value; the body still carries it
    }
  }
  sendJson(ctx.res, 200, payload, headers);
}

/** `GET /v1/set-cookie`: an upstream trying to set a cookie. */
function setCookie(ctx: RouteContext): void {
  sendJson(ctx.res, 200, { ok: true }, { 'set-cookie': 'upstream=1; Path=/' });
}

/** `GET /v1/redirect?to=`: a 302 to wherever `to` says. */
function redirect(ctx: RouteContext): void {
  const to = ctx.query.get('to') ?? DEFAULT_REDIRECT_TARGET;
  try {
    validateHeaderValue('location', to);
  } catch {
    sendError(ctx.res, 400, 'to is not a valid header value');
    return;
  }
  sendJson(ctx.res, 302, { location: to }, { location: to });
}

/** Parses a non-negative integer query parameter, clamped to `max`; null if invalid. */
function intParam(ctx: RouteContext, name: string, max: number): number | null {
  const raw = ctx.query.get(name);
  if (raw === null || !/^\d{1,16}$/.test(raw)) return null;
  return Math.min(Number(raw), max);
}

/** `GET /v1/slow?ms=N`: answers after N ms; stops waiting if the client goes away. */
function slow(ctx: RouteContext): void {
  const ms = intParam(ctx, 'ms', MAX_SLOW_MS);
  if (ms === null) {
    sendError(ctx.res, 400, 'ms must be a non-negative integer');
    return;
  }
  const { res } = ctx;
  const onClose = (): void => {
    clearTimeout(timer);
    ctx.stats.slowCancelled++;
  };
  const timer = setTimeout(() => {
    res.off('close', onClose);
    sendJson(res, 200, { slept: ms });
  }, ms);
  res.once('close', onClose);
}

/** `GET /v1/big?bytes=N`: N bytes of `a`, streamed with back-pressure. */
function big(ctx: RouteContext): void {
  const bytes = intParam(ctx, 'bytes', MAX_BIG_BYTES);
  const { res } = ctx;
  if (bytes === null) {
    sendError(res, 400, 'bytes must be a non-negative integer');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(bytes) });
  if (ctx.method === 'HEAD') {
    res.end();
    return;
  }
  let remaining = bytes;
  const pump = (): void => {
    while (remaining > 0) {
      if (res.destroyed) return;
      const piece = remaining >= BIG_CHUNK.length ? BIG_CHUNK : BIG_CHUNK.subarray(0, remaining);
      remaining -= piece.length;
      if (!res.write(piece)) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
}

/** `ANY /v1/status/:code`: answers with that status (200..599). */
function statusCode(ctx: RouteContext, raw: string): void {
  const code = /^\d{3}$/.test(raw) ? Number(raw) : NaN;
  if (!(code >= 200 && code <= 599)) {
    sendError(ctx.res, 400, 'status must be between 200 and 599');
    return;
  }
  if (code === 204 || code === 205 || code === 304) sendEmpty(ctx.res, code);
  else sendJson(ctx.res, code, { status: code });
}

/** `GET /v1/hop`: a response carrying hop-by-hop headers a proxy should drop. */
function hop(ctx: RouteContext): void {
  sendJson(ctx.res, 200, { ok: true }, {
    'keep-alive': 'timeout=5',
    'proxy-authenticate': 'Basic',
    'x-upstream': '1',
  });
}
