import 'reflect-metadata';
import { KeywardLogger, installStdioRedaction } from '@keyward/nest';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { DemoUsers } from './auth/demo-users.service.js';
import { TEST_ONLY_SCRYPT_PARAMS } from './auth/password-hasher.js';
import { loadDemoConfig } from './config/demo-config.js';
import { DemoModule } from './demo.module.js';

// First thing: every write to stdout/stderr is scrubbed of live secrets from here on.
installStdioRedaction();

async function main(): Promise<void> {
  const config = loadDemoConfig();
  const users = await DemoUsers.create(config.demoUsers, {}, config.testPasswordHash ? TEST_ONLY_SCRYPT_PARAMS : undefined);
  const module = DemoModule.register(config, users);
  const app =
    config.adapter === 'fastify'
      ? await NestFactory.create(module, new FastifyAdapter({ bodyLimit: 1024 * 1024 }), { rawBody: true, bufferLogs: true })
      : await NestFactory.create(module, { rawBody: true, bufferLogs: true });
  app.useLogger(new KeywardLogger());
  app.enableShutdownHooks();
  const logger = new Logger('Demo');
  process.on('unhandledRejection', (reason) => logger.error(`Unhandled rejection: ${reason instanceof Error ? `${reason.name}: ${reason.message}` : 'non-error'}`));
  await app.listen(config.port, config.host);
  console.log(`Keyward demo listening on http://${config.host}:${config.port} (${config.adapter}, ${config.redisSentinel ? 'Redis Sentinel' : config.redisUrl ? 'Redis' : 'embedded SQLite'} store)`);
}

main().catch((err: unknown) => {
  // Configuration errors list their problems and fixes; they never contain secret values.
  console.error(err instanceof Error ? `${err.name}: ${err.message}` : 'Startup failed.');
  process.exit(1);
});
