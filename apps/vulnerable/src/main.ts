// DELIBERATELY VULNERABLE NestJS app used to test `keyward audit` and `keyward probe`.
// It listens on 127.0.0.1 only. Never deploy it.
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import cookieSession from 'cookie-session';
import { AppModule } from './app.module.js';
import { sessionOptions } from './session.config.js';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(AppModule, { logger: ['log', 'error', 'warn'] });
  app.use(cookieSession(sessionOptions));
  // KW005: any origin, with credentials
  app.enableCors({ origin: true, credentials: true });
  const port = Number(process.env.PORT ?? 3100);
  await app.listen(port, '127.0.0.1');
  console.log(`vulnerable app listening on http://127.0.0.1:${port}`);
}

bootstrap().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : 'startup failed');
  process.exit(1);
});
