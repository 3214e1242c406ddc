import { Body, Controller, Delete, Get, HttpCode, HttpException, Inject, Param, Post, Req, Res, UnauthorizedException } from '@nestjs/common';
import { AllowAnonymous, ClientAddress, CurrentSession, InvalidArgumentError, KeywardEvents, RequestSession, requestIdOf } from '@keyward/nest';
import { DemoUsers } from './demo-users.service.js';
import { PasswordHashBusyError } from './password-hasher.js';
import { LoginRateLimit } from './login-rate-limit.js';

const MAX_FIELD = 256;

/** One answer for an unknown user and a wrong password. */
const LOGIN_FAILED = { error: 'Invalid username or password.', code: 'KW_LOGIN_FAILED' };

function credential(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_FIELD) {
    throw new InvalidArgumentError(`"${field}" must be a non-empty string of at most ${MAX_FIELD} characters.`);
  }
  return value;
}

/** The demo's auth and session routes (see shared DEMO-CONTRACT). */
@Controller('api/auth')
export class AuthController {
  constructor(
    @Inject(DemoUsers) private readonly users: DemoUsers,
    @Inject(KeywardEvents) private readonly events: KeywardEvents,
    @Inject(LoginRateLimit) private readonly limit: LoginRateLimit,
    @Inject(ClientAddress) private readonly clients: ClientAddress,
  ) {}

  @Post('login')
  @AllowAnonymous()
  @HttpCode(200)
  async login(
    @CurrentSession() session: RequestSession,
    @Body() body: unknown,
    @Req() req: unknown,
    @Res({ passthrough: true }) res: { header(name: string, value: string): unknown },
  ) {
    const input = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const username = credential(input.username, 'username');
    const password = credential(input.password, 'password');
    // Behind the TLS proxy production requires (KEYWARD_TRUST_PROXY), the address it reports,
    // not the proxy's own: counted by the peer, everyone would be one client.
    const client = this.clients.of(req) ?? 'unknown';
    // Checked and counted one at a time per username and per client: a burst of guesses cannot
    // all pass the check before the first failure is counted.
    const name = await this.limit.serial(username, client, async () => {
      const wait = this.limit.retryAfter(username, client);
      if (wait > 0) {
        this.events.loginFailed({ username, reason: 'rate-limited', requestId: requestIdOf(req) });
        res.header('Retry-After', String(wait));
        throw new HttpException({ error: 'Too many failed logins. Try again later.', code: 'KW_LOGIN_RATE_LIMITED' }, 429);
      }
      let verified: string | null;
      try {
        // A client with nothing counted against it in the window waits in the hasher's first
        // lane: addresses flooding the common line with wrong passwords cannot keep it out.
        verified = await this.users.verify(username, password, this.limit.clean(client));
      } catch (e) {
        if (!(e instanceof PasswordHashBusyError)) throw e;
        // Password hashing is bounded (memory and pool threads): a full wait line answers at
        // once, and the refusal counts like a failure, so a flood is soon answered 429 unhashed.
        this.events.loginFailed({ username, reason: 'busy', requestId: requestIdOf(req) });
        await this.limit.refused(username, client);
        res.header('Retry-After', '1');
        throw new HttpException({ error: e.message, code: e.code }, 503);
      }
      if (!verified) {
        this.events.loginFailed({ username, reason: 'bad-credentials', requestId: requestIdOf(req) });
        await this.limit.failed(username, client);
        throw new UnauthorizedException(LOGIN_FAILED);
      }
      return verified;
    });
    const info = await session.login({ id: name, name });
    // Sessions this login ended to stay within KEYWARD_MAX_SESSIONS_PER_USER (public handles only); absent when none.
    if (info.endedSessions.length === 0) return { user: { name } };
    return { user: { name }, endedSessions: info.endedSessions.map((s) => ({ id: s.id, createdAt: s.createdAt.toISOString() })) };
  }

  @Post('logout')
  @AllowAnonymous()
  @HttpCode(204)
  async logout(@CurrentSession() session: RequestSession): Promise<void> {
    await session.logout();
  }

  @Post('logout-all')
  @HttpCode(204)
  async logoutAll(@CurrentSession() session: RequestSession): Promise<void> {
    await session.logoutAll();
  }

  @Get('session')
  current(@CurrentSession() session: RequestSession) {
    const info = session.info!;
    return {
      user: { name: info.user.name ?? info.user.id },
      expiresAt: info.expiresAt.toISOString(),
      absoluteExpiresAt: info.absoluteExpiresAt.toISOString(),
      // When the session ID was last rotated (null: not since login).
      rotatedAt: info.idIssuedAt > info.createdAt ? info.idIssuedAt.toISOString() : null,
    };
  }

  @Get('sessions')
  async sessions(@CurrentSession() session: RequestSession) {
    return (await session.list()).map((s) => ({
      id: s.id,
      createdAt: s.createdAt.toISOString(),
      lastSeenAt: s.lastSeenAt.toISOString(),
      expiresAt: s.expiresAt.toISOString(),
      current: s.current,
    }));
  }

  @Delete('sessions/:id')
  @HttpCode(204)
  async revoke(@CurrentSession() session: RequestSession, @Param('id') id: string): Promise<void> {
    await session.revoke(id);
  }
}
