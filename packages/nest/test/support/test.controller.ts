import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Put } from '@nestjs/common';
import { AllowAnonymous, CurrentSession, InvalidArgumentError, NotFoundError, RequestSession, SkipOriginCheck, Vault, maskSecret } from '../../src/index.js';

/**
 * The routes every end-to-end suite uses, as an app using Keyward writes them: log in and
 * out, read the session, list and revoke sessions, keep data in the session, keep keys in
 * the vault. Served by {@link startTestApp}; a suite adds its own controllers beside it.
 */
@Controller()
export class TestController {
  constructor(@Inject(Vault) private readonly vault: Vault) {}

  @Get('healthz')
  @AllowAnonymous()
  health() {
    return { status: 'ok' };
  }

  /** Logs in as `{ id: user, name: user, role }` (default `alice`, role `user`). */
  @Post('login')
  @AllowAnonymous()
  @HttpCode(200)
  async login(@CurrentSession() session: RequestSession, @Body() body: { user?: string; role?: string } | undefined) {
    // (Express leaves the body undefined for a content type it does not parse.)
    const id = String(body?.user ?? 'alice');
    const info = await session.login({ id, name: id, role: body?.role ?? 'user' });
    return { user: info.user, handle: info.id, expiresAt: info.expiresAt, absoluteExpiresAt: info.absoluteExpiresAt };
  }

  @Get('me')
  me(@CurrentSession() session: RequestSession) {
    const info = session.info!;
    return { user: session.user, handle: info.id, lastSeenAt: info.lastSeenAt, expiresAt: info.expiresAt, absoluteExpiresAt: info.absoluteExpiresAt };
  }

  @Get('public-me')
  @AllowAnonymous()
  publicMe(@CurrentSession() session: RequestSession) {
    return { authenticated: session.isAuthenticated, user: session.user ?? null };
  }

  /** Regenerates the session as the same user with the role `admin`. */
  @Post('elevate')
  @HttpCode(200)
  async elevate(@CurrentSession() session: RequestSession) {
    const info = await session.regenerate({ ...session.user!, role: 'admin' });
    return { user: info.user, handle: info.id };
  }

  @Post('logout')
  @AllowAnonymous()
  @HttpCode(204)
  async logout(@CurrentSession() session: RequestSession) {
    await session.logout();
  }

  @Post('logout-all')
  @HttpCode(204)
  async logoutAll(@CurrentSession() session: RequestSession) {
    await session.logoutAll();
  }

  @Get('sessions')
  sessions(@CurrentSession() session: RequestSession) {
    return session.list();
  }

  @Delete('sessions/:id')
  @HttpCode(204)
  async revoke(@CurrentSession() session: RequestSession, @Param('id') id: string) {
    await session.revoke(id);
  }

  @Put('data/:name')
  @HttpCode(204)
  async setData(@CurrentSession() session: RequestSession, @Param('name') name: string, @Body() body: { value: unknown } | undefined) {
    await session.set(name, body?.value);
  }

  @Get('data')
  data(@CurrentSession() session: RequestSession) {
    return session.storedRecord!.data;
  }

  /** Bring your own key (write-only). */
  @Put('keys/:service')
  @HttpCode(204)
  async putKey(@CurrentSession() session: RequestSession, @Param('service') service: string, @Body() body: { key?: unknown }) {
    if (typeof body?.key !== 'string') throw new InvalidArgumentError('Send JSON { "key": "..." }.');
    await this.vault.putUser(session.user!.id, service, body.key);
  }

  @Get('keys')
  async listKeys(@CurrentSession() session: RequestSession) {
    return (await this.vault.listUser(session.user!.id)).map((k) => ({ service: k.name, masked: k.masked, updatedAt: k.updatedAt.toISOString() }));
  }

  @Delete('keys/:service')
  @HttpCode(204)
  async deleteKey(@CurrentSession() session: RequestSession, @Param('service') service: string) {
    if (!(await this.vault.removeUser(session.user!.id, service))) throw new NotFoundError('KW_KEY_NOT_FOUND', 'No key stored for this service.');
  }

  /** A session-scoped vault entry (dies with the session). */
  @Put('session-keys/:name')
  @HttpCode(204)
  async putSessionKey(@CurrentSession() session: RequestSession, @Param('name') name: string, @Body() body: { key?: unknown }) {
    if (typeof body?.key !== 'string') throw new InvalidArgumentError('Send JSON { "key": "..." }.');
    await this.vault.putSession(session.storedRecord!, name, body.key);
  }

  /** Whether a session-scoped entry opens, as a mask (never the value). */
  @Get('session-keys/:name')
  async getSessionKey(@CurrentSession() session: RequestSession, @Param('name') name: string) {
    const secret = await this.vault.openSession(session.storedRecord!, name);
    return { present: secret !== undefined, masked: secret ? maskSecret(secret.reveal()) : null };
  }

  /** A server-to-server route that opts out of the origin check, with its reason. */
  @Post('webhook')
  @AllowAnonymous()
  @HttpCode(200)
  @SkipOriginCheck({ reason: 'server-to-server webhook, verified by its signature' })
  webhook() {
    return { received: true };
  }

  /** An unexpected error, whose text must never reach the client. */
  @Get('boom')
  @AllowAnonymous()
  boom(): never {
    throw new Error('internal detail that must not leak');
  }
}
