// Issue 22, point 3c: on a route the guard protects, `session.user` was still typed
// `SessionUser | undefined`, so every handler wrote `session.user!`. `@CurrentUser()` hands
// the user itself, and `@CurrentSession({ authenticated: true })` an AuthenticatedSession
// (user, info and storedRecord without undefined); both refuse with 401 where there is no
// user (an @AllowAnonymous route), through the app's filters like every Keyward refusal.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Controller, Get } from '@nestjs/common';
import { AllowAnonymous, CurrentSession, CurrentUser, MemoryStore, type AuthenticatedSession, type SessionUser } from '../src/index.js';
import { ADAPTERS } from './support/adapters.js';
import { AppClient, Client } from './support/clients.js';
import { secret } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';

interface AppUser extends SessionUser {
  name: string;
  role: string;
}

@Controller('typed')
class TypedController {
  /** The type is the point: no `!`, no optional chaining. */
  @Get('user')
  user(@CurrentUser() user: AppUser): { id: string; name: string; role: string } {
    return { id: user.id, name: user.name, role: user.role };
  }

  @Get('session')
  session(@CurrentSession({ authenticated: true }) session: AuthenticatedSession): { name: unknown; handle: string; expiresAt: Date; key: boolean } {
    return { name: session.user.name, handle: session.info.id, expiresAt: session.info.expiresAt, key: session.storedRecord.key.length > 0 };
  }

  @Get('anonymous-user')
  @AllowAnonymous()
  anonymousUser(@CurrentUser() user: AppUser): { name: string } {
    return { name: user.name };
  }

  @Get('anonymous-session')
  @AllowAnonymous()
  anonymousSession(@CurrentSession({ authenticated: true }) session: AuthenticatedSession): { name: unknown } {
    return { name: session.user.name };
  }
}

for (const adapter of ADAPTERS) {
  describe(`@CurrentUser() and @CurrentSession({ authenticated: true }): ${adapter}`, () => {
    let app: RunningApp;
    before(async () => {
      app = await startTestApp(adapter, { session: { secrets: [secret()], store: new MemoryStore(), sweepIntervalMs: 0 } }, { controllers: [TypedController] });
    });
    after(() => app?.close());

    it('hand a logged-in user to the handler', async () => {
      const c = new AppClient(app.url);
      const login = await c.post('/login', { user: 'alice', role: 'admin' });
      assert.equal(login.status, 200);
      assert.deepEqual((await c.get('/typed/user')).body, { id: 'alice', name: 'alice', role: 'admin' });
      const s = await c.get('/typed/session');
      assert.equal(s.status, 200);
      assert.equal(s.body.name, 'alice');
      assert.equal(s.body.handle, login.body.handle);
      assert.equal(s.body.key, true);
      assert.deepEqual((await c.get('/typed/anonymous-user')).body, { name: 'alice' });
      assert.deepEqual((await c.get('/typed/anonymous-session')).body, { name: 'alice' });
    });

    it('refuse with 401 KW_SESSION_REQUIRED where there is no user', async () => {
      for (const path of ['/typed/user', '/typed/session', '/typed/anonymous-user', '/typed/anonymous-session']) {
        const r = await new Client(app.url).get(path);
        assert.equal(r.status, 401, `${path}: ${r.text}`);
        assert.equal(r.body.code, 'KW_SESSION_REQUIRED', path);
      }
    });
  });
}
