import type { IncomingMessage, ServerResponse } from 'node:http';
import { hasBearer, sendJson } from '../http-io.js';
import type { IdpHandle } from '../types.js';

/** What the admin routes need. */
export interface AdminContext {
  readonly adminToken: string;
  readonly handle: Pick<IdpHandle, 'activeGrants' | 'logoutUser' | 'revocations'>;
}

const USERNAME = /^[A-Za-z0-9._-]{1,64}$/;

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return '';
  }
}

/**
 * `/admin/*`, for tests, with `Authorization: Bearer <DEMO_UPSTREAM_ADMIN_TOKEN>`
 * (401 before anything else):
 * - `POST /admin/logout/:username`: ends the user's provider sessions, back-channel logout included;
 * - `GET /admin/grants/:username[?client_id=]`: `{"active": <live grants>}`;
 * - `GET /admin/revocations`: what the revocation endpoint revoked (types and clients, never tokens).
 */
export async function handleAdmin(ctx: AdminContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  if (!hasBearer(req, ctx.adminToken)) {
    sendJson(res, 401, { error: 'invalid or missing admin token' });
    return;
  }
  const method = req.method ?? 'GET';
  const path = url.pathname;
  if (path === '/admin/revocations') {
    if (method !== 'GET') return notAllowed(res, 'GET');
    sendJson(res, 200, ctx.handle.revocations());
    return;
  }
  const logout = /^\/admin\/logout\/([^/]+)$/.exec(path);
  if (logout !== null) {
    if (method !== 'POST') return notAllowed(res, 'POST');
    const username = safeDecode(logout[1]!);
    if (!USERNAME.test(username)) return sendJson(res, 400, { error: 'invalid username' });
    sendJson(res, 200, await ctx.handle.logoutUser(username));
    return;
  }
  const grants = /^\/admin\/grants\/([^/]+)$/.exec(path);
  if (grants !== null) {
    if (method !== 'GET') return notAllowed(res, 'GET');
    const username = safeDecode(grants[1]!);
    if (!USERNAME.test(username)) return sendJson(res, 400, { error: 'invalid username' });
    sendJson(res, 200, { active: ctx.handle.activeGrants(username, url.searchParams.get('client_id') ?? undefined) });
    return;
  }
  sendJson(res, 404, { error: 'not found' });
}

function notAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('allow', allow);
  sendJson(res, 405, { error: 'method not allowed' });
}
