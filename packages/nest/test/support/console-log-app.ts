// A real app process for log-format tests (request-log.test.ts): a Nest app with Keyward and
// the TestController, proxying `server` to the test upstream, logging through Nest's default
// logger (nothing passed: Nest's own ConsoleLogger) or `LOGGER=json` (a ConsoleLogger with
// `json: true`). Prints `LISTENING <port>` once it serves; the test reads its stdout.
//
// Env: ADAPTER (express|fastify), UPSTREAM_URL, SERVER_KEY, SESSION_SECRET, VAULT_KEY, LOGGER.
import 'reflect-metadata';
import { ConsoleLogger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { AddressInfo } from 'node:net';
import { KeywardModule, MemoryStore, ServerKeyProvider } from '../../src/index.js';
import { upstreamService } from './bff-options.js';
import { TestController } from './test.controller.js';

const env = process.env;

@Module({
  imports: [
    KeywardModule.forRoot({
      session: { secrets: [env.SESSION_SECRET!], store: new MemoryStore(), sweepIntervalMs: 0 },
      vault: { keys: [env.VAULT_KEY!] },
      credentials: { server: new ServerKeyProvider({ keys: [env.SERVER_KEY!] }) },
      proxy: { services: { server: upstreamService(env.UPSTREAM_URL!, 'server') } },
    }),
  ],
  controllers: [TestController],
})
class ConsoleLogAppModule {}

const options = { rawBody: true, ...(env.LOGGER === 'json' ? { logger: new ConsoleLogger({ json: true }) } : {}) };
const app = env.ADAPTER === 'fastify' ? await NestFactory.create(ConsoleLogAppModule, new FastifyAdapter(), options) : await NestFactory.create(ConsoleLogAppModule, options);
await app.listen(0, '127.0.0.1');
process.stdout.write(`LISTENING ${(app.getHttpServer().address() as AddressInfo).port}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
