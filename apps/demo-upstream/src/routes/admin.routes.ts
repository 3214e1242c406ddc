import type { IncomingMessage } from 'node:http';
import { readBody, sendEmpty, sendError, sendJson } from '../http-io.js';
import { MintOptionsError } from '../key-registry.js';
import { secretsEqual } from '../secret-compare.js';
import type { MintOptions } from '../types.js';
import type { RouteContext } from './context.js';

const NO_STORE = { 'cache-control': 'no-store' };
const KEY_ID = /^mk_[0-9a-f]{16}$/;

/** True when the request carries `Authorization: Bearer <adminToken>` (constant-time). */
export function isAdmin(req: IncomingMessage, adminToken: string): boolean {
  const authorization = req.headers.authorization;
  if (typeof authorization !== 'string') return false;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
  return match !== null && secretsEqual(match[1]!, adminToken);
}

/** Handles `/admin` and everything below it. Unauthenticated requests get 401 before any 404. */
export async function handleAdmin(ctx: RouteContext): Promise<void> {
  const { res, method } = ctx;
  if (!isAdmin(ctx.req, ctx.adminToken)) {
    sendError(res, 401, 'invalid or missing admin token');
    return;
  }
  const path = ctx.routePath;
  if (path === '/admin/keys') {
    if (method === 'POST') return mintKey(ctx);
    if (method === 'GET' || method === 'HEAD') {
      sendJson(res, 200, ctx.registry.list(), NO_STORE);
      return;
    }
    sendError(res, 405, 'method not allowed', { allow: 'GET, HEAD, POST' });
    return;
  }
  if (path === '/admin/stats') {
    if (method === 'GET' || method === 'HEAD') {
      sendJson(res, 200, { ...ctx.registry.counts(), requests: ctx.stats.requests }, NO_STORE);
      return;
    }
    sendError(res, 405, 'method not allowed', { allow: 'GET, HEAD' });
    return;
  }
  const one = /^\/admin\/keys\/([^/]+)$/.exec(path);
  if (one !== null) {
    const id = one[1]!;
    const status = KEY_ID.test(id) ? ctx.registry.status(id) : undefined;
    if (method !== 'GET' && method !== 'HEAD' && method !== 'DELETE') {
      sendError(res, 405, 'method not allowed', { allow: 'GET, HEAD, DELETE' });
      return;
    }
    if (status === undefined) {
      sendError(res, 404, 'unknown key id');
      return;
    }
    if (method === 'DELETE') {
      ctx.registry.revoke(id);
      sendEmpty(res, 204);
    } else {
      sendJson(res, 200, status, NO_STORE);
    }
    return;
  }
  sendError(res, 404, 'not found');
}

/** `POST /admin/keys` with an optional JSON body `{ttlMs?, label?}`. */
async function mintKey(ctx: RouteContext): Promise<void> {
  const { res } = ctx;
  const body = await readBody(ctx.req);
  if (!body.ok) {
    if (body.reason === 'too-large') sendError(res, 413, 'request body too large');
    return;
  }
  let options: MintOptions = {};
  const text = body.body.toString('utf8');
  if (text.trim().length > 0) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      sendError(res, 400, 'body must be JSON');
      return;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      sendError(res, 400, 'body must be a JSON object');
      return;
    }
    const { ttlMs, label } = parsed as Record<string, unknown>;
    if (ttlMs !== undefined && typeof ttlMs !== 'number') {
      sendError(res, 400, 'ttlMs must be a number');
      return;
    }
    if (label !== undefined && typeof label !== 'string') {
      sendError(res, 400, 'label must be a string');
      return;
    }
    options = { ttlMs, label };
  }
  try {
    sendJson(res, 201, ctx.registry.mint(options), NO_STORE);
  } catch (err) {
    if (err instanceof MintOptionsError) sendError(res, 400, err.message);
    else throw err;
  }
}
