import 'reflect-metadata';
import { Module, type INestApplication, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KeywardModule, SessionService, StartupReport, Vault, type KeywardModuleOptions } from '../../src/index.js';
import type { AdapterName } from './adapters.js';
import { CapturingLogger } from './capturing.logger.js';
import { TestController } from './test.controller.js';

/** A Nest app with Keyward, served on a free loopback port. */
export interface RunningApp {
  app: INestApplication;
  url: string;
  port: number;
  /** Every line the app logged. */
  logger: CapturingLogger;
  sessions: SessionService;
  /** Null when the options configure no vault keys. */
  vault: Vault;
  report: StartupReport;
  close(): Promise<void>;
}

export interface StartOptions {
  https?: { key: string | Buffer; cert: string | Buffer };
  /** Controllers served beside the {@link TestController}. */
  controllers?: Array<new (...a: never[]) => unknown>;
  /** Runs after the app is created, before it serves (e.g. `app.use` of the app's own middleware). */
  setup?: (app: INestApplication) => void;
  /**
   * `listen` (default): the app's own server. `instance`: the framework instance behind a
   * server of its own, as serverless adapters do, so no request passes the app's server.
   */
  serve?: 'listen' | 'instance';
}

/** Starts a Nest app with `KeywardModule.forRoot(options)` and the {@link TestController} on the given adapter. */
export async function startTestApp(adapter: AdapterName, options: KeywardModuleOptions, start: StartOptions = {}): Promise<RunningApp> {
  @Module({ imports: [KeywardModule.forRoot(options)], controllers: [TestController, ...(start.controllers ?? [])] })
  class TestAppModule {}
  const logger = new CapturingLogger();
  const app = await createApp(adapter, TestAppModule, { logger, https: start.https });
  start.setup?.(app);
  let server: Server = app.getHttpServer();
  if (start.serve === 'instance') {
    await app.init();
    server = await serveInstance(app, adapter);
  } else {
    await app.listen(0, '127.0.0.1');
  }
  const { port } = server.address() as AddressInfo;
  return {
    app,
    url: `${start.https ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    logger,
    sessions: app.get(SessionService),
    vault: app.get(Vault),
    report: app.get(StartupReport),
    close: async () => {
      if (server !== app.getHttpServer()) await new Promise((r) => server.close(r));
      await app.close();
    },
  };
}

/**
 * Starts an app module of a test's own (its own controllers and imports) on the given
 * adapter, on a free loopback port, without logs.
 */
export async function listenTestModule(adapter: AdapterName, module: new (...a: never[]) => unknown): Promise<{ app: INestApplication; url: string; close(): Promise<void> }> {
  const app = await createApp(adapter, module, { logger: false });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

/** The Nest app on Express (the default) or Fastify, with the raw body kept. */
function createApp(adapter: AdapterName, module: new (...a: never[]) => unknown, o: { logger: LoggerService | false; https?: StartOptions['https'] }): Promise<INestApplication> {
  const options = { logger: o.logger, rawBody: true };
  return adapter === 'fastify'
    ? NestFactory.create(module, new FastifyAdapter(o.https ? { https: o.https } : {}), options)
    : NestFactory.create(module, { ...options, ...(o.https ? { httpsOptions: o.https } : {}) });
}

/** Serves the app's framework instance (Express app or Fastify) from a separate node:http server. */
async function serveInstance(app: INestApplication, adapter: AdapterName): Promise<Server> {
  const instance = app.getHttpAdapter().getInstance();
  let handler: (req: IncomingMessage, res: ServerResponse) => void;
  if (adapter === 'fastify') {
    await instance.ready();
    handler = (req, res) => instance.routing(req, res);
  } else {
    handler = instance;
  }
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}
