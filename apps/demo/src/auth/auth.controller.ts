import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, UnauthorizedException } from '@nestjs/common';
import { AllowAnonymous, CurrentSession, InvalidArgumentError, RequestSession } from '@keyward/nest';
import { DemoUsers } from './demo-users.service.js';

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
  constructor(@Inject(DemoUsers) private readonly users: DemoUsers) {}

  @Post('login')
  @AllowAnonymous()
  @HttpCode(200)
  async login(@CurrentSession() session: RequestSession, @Body() body: unknown) {
    const input = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const name = await this.users.verify(credential(input.username, 'username'), credential(input.password, 'password'));
    if (!name) throw new UnauthorizedException(LOGIN_FAILED);
    await session.login({ id: name, name });
    return { user: { name } };
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
    return { user: { name: info.user.name ?? info.user.id }, expiresAt: info.expiresAt.toISOString(), absoluteExpiresAt: info.absoluteExpiresAt.toISOString() };
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
