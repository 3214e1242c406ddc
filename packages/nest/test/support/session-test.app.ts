import 'reflect-metadata';
import { Body, Controller, Delete, Get, HttpCode, Module, Param, Post, Put, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { AddressInfo } from 'node:net';
import { AllowAnonymous, CurrentSession, KeywardModule, RequestSession, type KeywardModuleOptions } from '../../src/index.js';

export type AdapterName = 'express' | 'fastify';
export const ADAPTERS: readonly AdapterName[] = ['express', 'fastify'];

@Controller()
class SessionTestController {
  @Get('healthz')
  @AllowAnonymous()
  health() {
    return { status: 'ok' };
  }

  @Post('login')
  @AllowAnonymous()
  @HttpCode(200)
  async login(@CurrentSession() session: RequestSession, @Body() body: { user?: string; role?: string } | undefined) {
    // (Express leaves the body undefined for a content type it does not parse.)
    const info = await session.login({ id: String(body?.user ?? 'alice'), name: String(body?.user ?? 'alice'), role: body?.role ?? 'user' });
    return { user: info.user, expiresAt: info.expiresAt, absoluteExpiresAt: info.absoluteExpiresAt };
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

  @Put('data/:name')
  @HttpCode(204)
  async setData(@CurrentSession() session: RequestSession, @Param('name') name: string, @Body() body: { value: unknown } | undefined) {
    await session.set(name, body?.value);
  }

  @Get('data')
  data(@CurrentSession() session: RequestSession) {
    return session.storedRecord!.data;
  }

  @Post('elevate')
  @HttpCode(200)
  async elevate(@CurrentSession() session: RequestSession) {
    const user = session.user!;
    const info = await session.regenerate({ ...user, role: 'admin' });
    return { user: info.user };
  }

  @Post('logout')
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

  @Get('boom')
  @AllowAnonymous()
  boom(): never {
    throw new Error('internal detail that must not leak');
  }
}

export interface RunningApp {
  app: INestApplication;
  url: string;
  close(): Promise<void>;
}

/** Starts a Nest app with Keyward on a free loopback port, on the chosen adapter. */
export async function startSessionApp(adapter: AdapterName, options: KeywardModuleOptions): Promise<RunningApp> {
  @Module({ imports: [KeywardModule.forRoot(options)], controllers: [SessionTestController] })
  class SessionTestModule {}
  const app =
    adapter === 'fastify'
      ? await NestFactory.create(SessionTestModule, new FastifyAdapter(), { logger: false })
      : await NestFactory.create(SessionTestModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}
