import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Controller, Get, Header } from '@nestjs/common';
import { AllowAnonymous, MemoryStore } from '../src/index.js';
import { ADAPTERS } from './support/adapters.js';
import { AppClient } from './support/clients.js';
import { secret } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';

// Issue 23, point 1: the timed rotation and the touch refresh put Set-Cookie (a new session
// ID) on whatever request comes first, and a route marked @Header('Cache-Control', 'public,
// max-age=600') overwrote the guard's no-store (Nest applies route headers after guards): a
// shared cache would then serve one user's session to everyone.

@Controller()
class CachedController {
  @Get('catalogue')
  @Header('Cache-Control', 'public, max-age=600')
  catalogue() {
    return { items: ['a', 'b'] };
  }

  @Get('public-catalogue')
  @AllowAnonymous()
  @Header('Cache-Control', 'public, max-age=600')
  publicCatalogue() {
    return { items: ['a', 'b'] };
  }
}

for (const adapter of ADAPTERS) {
  describe(`a response that sets the session cookie is never publicly cacheable (${adapter})`, () => {
    let app: RunningApp;
    before(async () => {
      // Every request refreshes the cookie (touch interval 0): the route's answer carries Set-Cookie.
      app = await startTestApp(adapter, { session: { secrets: [secret()], store: new MemoryStore(), sweepIntervalMs: 0, touchIntervalMs: 0 } }, { controllers: [CachedController] });
    });
    after(() => app?.close());

    for (const path of ['/catalogue', '/public-catalogue']) {
      it(`${path}: the handler's Cache-Control loses to no-store whenever Set-Cookie carries the session cookie`, async () => {
        const c = new AppClient(app.url);
        assert.equal((await c.post('/login', { user: 'alice' })).status, 200);
        await new Promise((r) => setTimeout(r, 5)); // a touch is due (another millisecond)
        const r = await c.get(path);
        assert.equal(r.status, 200);
        assert.ok(r.setCookies.some((v) => /^sid=\S/.test(v)), `Set-Cookie: ${r.setCookies.join(' | ')}`);
        assert.equal(r.headers.get('cache-control'), 'no-store');
      });
    }

    it('the same route without a session keeps its own Cache-Control (no cookie is set)', async () => {
      const r = await new AppClient(app.url).get('/public-catalogue');
      assert.equal(r.setCookies.length, 0);
      assert.equal(r.headers.get('cache-control'), 'public, max-age=600');
    });
  });
}
