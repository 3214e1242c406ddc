import { cookieValue } from '../session/session-cookie.js';
import { Body, Controller, Get, HttpCode, Inject, Post, Query, Req, Res, SetMetadata } from '@nestjs/common';
import { ALLOW_ANONYMOUS, SKIP_ORIGIN_CHECK } from '../keyward.constants.js';
import { OidcError, OidcErrorCode, SessionRequiredError } from '../keyward.errors.js';
import { REQUEST_SESSION } from '../keyward.internal-constants.js';
import { OAUTH_TRANSPORT } from '../oauth/connect.controller.js';
import type { RequestSession } from '../session/request-session.js';
import { requestOrigin, type ResolvedTransport, type TransportRequest } from '../transport/transport-policy.js';
import { LogoutTokenRefused } from './logout-token.js';
import { appendCookie, redirect, sendJson } from '../oauth/route-reply.js';
import { OIDC_CALLBACK_PATH, OidcSignInService, type OidcUserInfo, type SignInCookie } from './oidc-sign-in.service.js';

type AnyReq = TransportRequest & { [REQUEST_SESSION]?: RequestSession; url?: string; originalUrl?: string };

/**
 * The routes of sign-in with OpenID Connect (registered by `KeywardModule` unless
 * `oidcRoutes: false`; docs/oidc-sign-in.md):
 * - `GET /api/auth/oidc/login?returnTo=/path[&prompt=none]`: 302 to the provider (`prompt=none`: silent, if enabled).
 * - `GET /api/auth/oidc/callback`: the provider's redirect back; a new session, 302 to `returnTo`.
 * - `POST /api/auth/oidc/logout`: ends the session; `{ redirectTo }` (the provider's end-session URL).
 * - `POST /api/auth/oidc/backchannel-logout`: the provider's logout token (Back-Channel Logout 1.0).
 * - `GET /api/auth/user`: the session's safe claims and time left (`?slide=false` does not extend it).
 */
@Controller('api/auth')
export class OidcController {
  constructor(
    @Inject(OidcSignInService) private readonly oidc: OidcSignInService | null,
    @Inject(OAUTH_TRANSPORT) private readonly transport: ResolvedTransport,
  ) {}

  @Get('oidc/login')
  @SetMetadata(ALLOW_ANONYMOUS, true)
  async login(@Query('returnTo') returnTo: unknown, @Query('prompt') prompt: unknown, @Req() req: AnyReq, @Res() res: unknown): Promise<void> {
    const oidc = this.configured();
    const origin = this.transport.publicOrigin ?? requestOrigin(req, this.transport) ?? '';
    const { location, cookie } = await oidc.start(returnTo, origin, prompt);
    appendCookie(res, serialize(cookie));
    redirect(res, location);
  }

  @Get('oidc/callback')
  @SetMetadata(ALLOW_ANONYMOUS, true)
  async callback(@Req() req: AnyReq, @Res() res: unknown): Promise<void> {
    const oidc = this.configured();
    // The pending sign-in is single use whatever happens: its cookie is cleared on every answer.
    appendCookie(res, serialize({ name: oidc.cookieName, value: '', path: OIDC_CALLBACK_PATH, maxAgeSeconds: 0, secure: oidc.cookieName.startsWith('__Secure-') }));
    const url = req.originalUrl ?? req.url ?? '';
    const q = url.indexOf('?');
    const session = req[REQUEST_SESSION];
    if (!session) throw new SessionRequiredError();
    const { returnTo } = await oidc.callback(new URLSearchParams(q >= 0 ? url.slice(q + 1) : ''), cookieValue(req.headers.cookie, oidc.cookieName), session);
    redirect(res, returnTo);
  }

  @Post('oidc/logout')
  @HttpCode(200)
  async logout(@Req() req: AnyReq): Promise<{ redirectTo: string }> {
    const session = req[REQUEST_SESSION];
    if (!session?.isAuthenticated) throw new SessionRequiredError();
    return this.configured().logout(session);
  }

  @Post('oidc/backchannel-logout')
  @SetMetadata(ALLOW_ANONYMOUS, true)
  @SetMetadata(SKIP_ORIGIN_CHECK, 'called server to server by the OpenID provider; the logout token is verified against its keys and used once')
  async backchannel(@Body() body: unknown, @Res() res: unknown): Promise<void> {
    const oidc = this.configured();
    const token = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).logout_token : undefined;
    try {
      await oidc.backchannelLogout(token);
    } catch (e) {
      if (!(e instanceof LogoutTokenRefused)) throw e;
      return sendJson(res, 400, { error: 'invalid_request', error_description: e.message });
    }
    sendJson(res, 200, {});
  }

  @Get('user')
  async user(@Req() req: AnyReq, @Res({ passthrough: true }) res: unknown): Promise<OidcUserInfo> {
    const session = req[REQUEST_SESSION];
    if (!session?.isAuthenticated) throw new SessionRequiredError();
    noStore(res);
    if (this.oidc) return this.oidc.userInfo(session);
    const info = session.info!;
    return { user: info.user, expiresIn: Math.max(0, Math.floor((info.expiresAt.getTime() - Date.now()) / 1000)), logoutUrl: null };
  }

  private configured(): OidcSignInService {
    if (!this.oidc) throw new OidcError(OidcErrorCode.NotConfigured, 'Sign-in with OpenID Connect is not configured (KeywardModule `oidc` options).');
    return this.oidc;
  }
}

function serialize(c: SignInCookie): string {
  return `${c.name}=${c.value}; Path=${c.path}; Max-Age=${c.maxAgeSeconds}; HttpOnly; SameSite=Lax${c.secure ? '; Secure' : ''}`;
}

function noStore(res: unknown): void {
  const r = res as { header?: (n: string, v: string) => unknown; setHeader?: (n: string, v: string) => unknown; raw?: unknown };
  if (typeof r.setHeader === 'function' && !('raw' in r)) r.setHeader('cache-control', 'no-store');
  else if (typeof r.header === 'function') r.header('cache-control', 'no-store');
}
