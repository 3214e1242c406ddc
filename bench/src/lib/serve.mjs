// Shared start-up of the bench servers: Nest app on the chosen adapter, no logger, bound
// to loopback; prints "ready <port>" for the harness and closes cleanly on SIGTERM (so a
// --cpu-prof profile gets written).
import { NestFactory } from '@nestjs/core';

export async function serve(module, { adapter = 'express', setup } = {}) {
  let app;
  if (adapter === 'fastify') {
    const { FastifyAdapter } = await import('@nestjs/platform-fastify');
    app = await NestFactory.create(module, new FastifyAdapter(), { logger: false });
  } else {
    app = await NestFactory.create(module, { logger: false });
  }
  if (setup) await setup(app);
  await app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
  const url = await app.getUrl();
  console.log(`ready ${new URL(url.replace('[::1]', '127.0.0.1')).port}`);
  let closing = false;
  process.on('SIGTERM', () => {
    if (closing) return;
    closing = true;
    const timer = setTimeout(() => process.exit(0), 3000);
    app.close().finally(() => {
      clearTimeout(timer);
      process.exit(0);
    });
  });
  return app;
}

/** Small JSON every session check answers (the same shape on every stack). */
export function meBody(user) {
  return { user: { id: user.id, name: user.name } };
}

/** Parses the wildcard of `/api/proxy/up/*path` into the upstream path (with query). */
export function upstreamTarget(base, req) {
  const url = req.originalUrl ?? req.url;
  const at = url.indexOf('/api/proxy/up/');
  return base.replace(/\/$/, '') + url.slice(at + '/api/proxy/up'.length);
}
