import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Controller, Get, HttpCode, Injectable, Module, Post, Req, UnauthorizedException, UseGuards } from '@nestjs/common';
import { AuthGuard, PassportModule, PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-local';
import { AllowAnonymous, CurrentSession, KeywardModule, RequestSession, SqliteStore, type SessionUser } from '../src/index.js';
import { ADAPTERS, type AdapterName } from './support/adapters.js';
import { AppClient } from './support/clients.js';
import { listenTestModule } from './support/test-app.js';

interface AppUser {
  id: string;
  name: string;
}

const USERS = new Map<string, { password: string; user: AppUser }>([
  ['alice', { password: 'alice-password', user: { id: 'u-alice', name: 'Alice' } }],
  ['bob', { password: 'bob-password', user: { id: 'u-bob', name: 'Bob' } }],
]);

/** An ordinary passport-local strategy, as an app already has it. */
@Injectable()
class LocalStrategy extends PassportStrategy(Strategy) {
  constructor() {
    super({ usernameField: 'username', passwordField: 'password' });
  }

  validate(username: string, password: string): AppUser {
    const entry = USERS.get(username);
    if (!entry || entry.password !== password) throw new UnauthorizedException();
    return entry.user;
  }
}

@Controller('auth')
class AuthController {
  /** passport checks the credentials; Keyward starts the session. */
  @Post('login')
  @AllowAnonymous()
  @UseGuards(AuthGuard('local'))
  @HttpCode(200)
  async login(@Req() req: { user: AppUser }, @CurrentSession() session: RequestSession) {
    const info = await session.login({ id: req.user.id, name: req.user.name });
    return { user: info.user };
  }

  @Get('profile')
  profile(@CurrentSession() session: RequestSession): SessionUser {
    return session.user!;
  }

  @Post('logout')
  @HttpCode(204)
  async logout(@CurrentSession() session: RequestSession): Promise<void> {
    await session.logout();
  }
}

const tmp = mkdtempSync(join(tmpdir(), 'kw-passport-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function startPassportApp(adapter: AdapterName) {
  @Module({
    imports: [
      PassportModule,
      KeywardModule.forRoot({
        session: { secrets: [randomBytes(32).toString('base64url')], store: new SqliteStore({ file: join(tmp, `${adapter}.sqlite`) }), sweepIntervalMs: 0 },
      }),
    ],
    controllers: [AuthController],
    providers: [LocalStrategy],
  })
  class PassportAppModule {}
  return listenTestModule(adapter, PassportAppModule);
}

for (const adapter of ADAPTERS) {
  describe(`passport-local + Keyward sessions: ${adapter}`, () => {
    let running: Awaited<ReturnType<typeof startPassportApp>>;
    before(async () => {
      running = await startPassportApp(adapter);
    });
    after(async () => {
      await running?.app.close();
    });

    it("AuthGuard('local') checks the password; session.login() issues the Keyward cookie; @CurrentSession() works after", async () => {
      const c = new AppClient(running.url);
      assert.equal((await c.get('/auth/profile')).status, 401);
      const r = await c.post('/auth/login', { username: 'alice', password: 'alice-password' });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.body, { user: { id: 'u-alice', name: 'Alice' } });
      assert.equal(r.setCookies.length, 1, 'only the Keyward cookie: passport keeps no session of its own');
      assert.match(r.setCookies[0]!, /^sid=[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}; Max-Age=1800; Path=\/; HttpOnly; SameSite=Strict$/);
      const profile = await c.get('/auth/profile');
      assert.equal(profile.status, 200);
      assert.deepEqual(profile.body, { id: 'u-alice', name: 'Alice' });
    });

    it('wrong password, unknown user and missing fields are 401 JSON without a cookie', async () => {
      const bodies = [
        { username: 'alice', password: 'wrong' },
        { username: 'mallory', password: 'alice-password' },
        { username: 'alice' },
        {},
      ];
      const answers = [];
      for (const body of bodies) {
        const r = await new AppClient(running.url).post('/auth/login', body);
        assert.equal(r.status, 401, JSON.stringify(body));
        assert.deepEqual(r.setCookies, []);
        // The app's (passport's) UnauthorizedException is answered as Nest answers it.
        assert.deepEqual(r.body, { message: 'Unauthorized', statusCode: 401 });
        assert.ok(!r.text.includes('alice-password'));
        answers.push(r.body);
      }
      assert.deepEqual(answers[0], answers[1], 'unknown user and wrong password answer the same');
    });

    it('logging in over an existing session (another user) replaces it: new ID, old cookie dead', async () => {
      const c = new AppClient(running.url);
      await c.post('/auth/login', { username: 'alice', password: 'alice-password' });
      const aliceCookie = c.jar.get('sid')!;
      const r = await c.post('/auth/login', { username: 'bob', password: 'bob-password' });
      assert.equal(r.status, 200);
      const bobCookie = c.jar.get('sid')!;
      assert.notEqual(bobCookie.slice(0, 43), aliceCookie.slice(0, 43));
      assert.equal((await c.get('/auth/profile', { cookie: `sid=${aliceCookie}` })).status, 401);
      const me = await c.get('/auth/profile', { cookie: `sid=${bobCookie}` });
      assert.deepEqual(me.body, { id: 'u-bob', name: 'Bob' });
    });

    it('a failed login does not end the session the browser already has', async () => {
      const c = new AppClient(running.url);
      await c.post('/auth/login', { username: 'alice', password: 'alice-password' });
      const cookie = c.jar.get('sid')!;
      assert.equal((await c.post('/auth/login', { username: 'alice', password: 'nope' })).status, 401);
      assert.equal((await c.get('/auth/profile', { cookie: `sid=${cookie}` })).status, 200);
    });

    it('logout ends the Keyward session; passport needs no logout of its own', async () => {
      const c = new AppClient(running.url);
      await c.post('/auth/login', { username: 'bob', password: 'bob-password' });
      const cookie = c.jar.get('sid')!;
      const out = await c.post('/auth/logout');
      assert.equal(out.status, 204);
      assert.equal((await c.get('/auth/profile', { cookie: `sid=${cookie}` })).status, 401);
    });
  });
}
