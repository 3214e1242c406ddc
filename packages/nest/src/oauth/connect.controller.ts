import { appendCookie, redirect } from './route-reply.js';
import { cookieValue } from '../session/session-cookie.js';
import { Controller, Delete, Get, HttpCode, Inject, Param, Query, Req, Res, SetMetadata } from '@nestjs/common';
import { ALLOW_ANONYMOUS } from '../keyward.constants.js';
import { REQUEST_SESSION } from '../keyward.internal-constants.js';
import { SessionRequiredError } from '../keyward.errors.js';
import type { RequestSession } from '../session/request-session.js';
import { requestOrigin, type ResolvedTransport, type TransportRequest } from '../transport/transport-policy.js';
import type { ConnectionInfo } from '../vault/providers/oauth-token.provider.js';
import { ConnectionService, type HandleCookie } from './connection.service.js';

/** Where the controller finds the transport settings (the module provides them). */
export const OAUTH_TRANSPORT = Symbol('keyward.oauthTransport');

type AnyReq = TransportRequest & { [REQUEST_SESSION]?: RequestSession; url?: string; originalUrl?: string };

/**
 * The routes of connected accounts (registered by `KeywardModule` unless
 * `connectRoutes: false`):
 * - `GET /api/connect/:name?returnTo=/path`: needs a session; 302 to the provider.
 * - `GET /api/connect/:name/callback`: the provider's redirect back; 302 to `returnTo`.
 * - `GET /api/connections`: the session's connections, a JSON array (never a token).
 * - `DELETE /api/connections/:name`: 204; disconnects (tokens revoked at the provider);
 *   origin-checked like every write. `DELETE /api/connect/:name` is kept as an alias (200
 *   `{ disconnected }`, as it answered before).
 */
@Controller('api')
export class ConnectController {
  constructor(
    @Inject(ConnectionService) private readonly connections: ConnectionService,
    @Inject(OAUTH_TRANSPORT) private readonly transport: ResolvedTransport,
  ) {}

  @Get('connections')
  async list(@Req() req: AnyReq): Promise<ConnectionInfo[]> {
    return this.connections.list(recordOf(req));
  }

  @Get('connect/:name')
  async start(@Param('name') name: string, @Query('returnTo') returnTo: unknown, @Req() req: AnyReq, @Res() res: unknown): Promise<void> {
    const origin = this.transport.publicOrigin ?? requestOrigin(req, this.transport) ?? '';
    const { location, cookie } = await this.connections.start(recordOf(req), name, returnTo, origin);
    appendCookie(res, serialize(cookie));
    redirect(res, location);
  }

  @Get('connect/:name/callback')
  @SetMetadata(ALLOW_ANONYMOUS, true)
  async callback(@Param('name') name: string, @Req() req: AnyReq, @Res() res: unknown): Promise<void> {
    const cookieName = this.connections.handleCookieName(name);
    // The handle is single use whatever happens: cleared on every answer, refusals included.
    appendCookie(res, serialize({ name: cookieName, value: '', path: `/api/connect/${name}/`, maxAgeSeconds: 0, secure: cookieName.startsWith('__Secure-') }));
    const url = req.originalUrl ?? req.url ?? '';
    const q = url.indexOf('?');
    const query = new URLSearchParams(q >= 0 ? url.slice(q + 1) : '');
    const current = req[REQUEST_SESSION]?.storedRecord;
    const { returnTo } = await this.connections.callback(name, query, cookieValue(req.headers.cookie, cookieName), current);
    redirect(res, returnTo);
  }

  @Delete('connections/:name')
  @HttpCode(204)
  async disconnect(@Param('name') name: string, @Req() req: AnyReq): Promise<void> {
    await this.connections.disconnect(recordOf(req), name);
  }

  /** The first path of disconnect, kept as an alias of `DELETE /api/connections/:name`. */
  @Delete('connect/:name')
  @HttpCode(200)
  async disconnectAlias(@Param('name') name: string, @Req() req: AnyReq): Promise<{ disconnected: boolean }> {
    return { disconnected: await this.connections.disconnect(recordOf(req), name) };
  }
}

function recordOf(req: AnyReq) {
  const record = req[REQUEST_SESSION]?.storedRecord;
  if (!record) throw new SessionRequiredError();
  return record;
}

function serialize(c: HandleCookie): string {
  return `${c.name}=${c.value}; Path=${c.path}; Max-Age=${c.maxAgeSeconds}; HttpOnly; SameSite=Lax${c.secure ? '; Secure' : ''}`;
}
