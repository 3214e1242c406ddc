import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Body, Controller, Get, HttpCode, Inject, Module, Post, Put } from '@nestjs/common';
import {
  AllowAnonymous,
  CurrentSession,
  KeyRing,
  KeywardModule,
  MintedKeyProvider,
  RedisStore,
  RequestSession,
  SessionEngine,
  SqliteStore,
  Vault,
  VaultError,
  VaultErrorCode,
  resolveKeywardOptions,
  type KeyIssuer,
  type KeywardModuleOptions,
  type SessionStore,
  type StoredSession,
} from '../src/index.js';
import { seal } from '../src/vault/key-ring.js';
import { ADAPTERS, type AdapterName } from './support/adapters.js';
import { Client } from './support/clients.js';
import { FakeClock } from './support/fake-clock.js';
import { RedisServer, redisSuite } from './support/redis-server.js';
import { listenTestModule } from './support/test-app.js';

// Regression tests for the findings of review issue 13 (#13, #16, #17, #18).

let redis: RedisServer;
const tmp = redisSuite('kw-hardening-', (server) => (redis = server));
let seq = 0;
const SECRET = 'hardening-secret-0123456789-abcdefghij-KLMN';
const MIN = 60_000;
const sha = (v: string): string => createHash('sha256').update(v).digest('hex');
const vaultKey = (id: string): string => `${id}:${randomBytes(32).toString('base64')}`;

type StoreKind = 'sqlite' | 'redis';
const STORES: readonly StoreKind[] = ['sqlite', 'redis'];
function openStore(kind: StoreKind): SessionStore {
  return kind === 'redis' ? new RedisStore({ url: redis.url, prefix: `kw:h${++seq}:` }) : new SqliteStore({ file: join(tmp, `h-${++seq}.sqlite`) });
}

/** An issuer that keeps its keys in memory and records what it revoked. */
class MemoryIssuer implements KeyIssuer {
  private n = 0;
  readonly minted: Array<{ id: string; userId: string }> = [];
  readonly revoked: string[] = [];
  async mint(req: { userId: string }): Promise<{ id: string; key: string }> {
    const id = `mk_${++this.n}_${randomBytes(4).toString('hex')}`;
    this.minted.push({ id, userId: req.userId });
    return { id, key: `minted_${randomBytes(24).toString('base64url')}` };
  }
  async revoke(id: string): Promise<void> {
    this.revoked.push(id);
  }
}

// ---------------------------------------------------------------------------------------
// A small app: log in, keep a key in the session's vault, regenerate as the same or
// another user, read which key the session can open (as a hash, never the key).
// ---------------------------------------------------------------------------------------

@Controller()
class HardeningController {
  constructor(@Inject(Vault) private readonly vault: Vault) {}

  @Post('login')
  @AllowAnonymous()
  @HttpCode(200)
  async login(@CurrentSession() session: RequestSession, @Body() body: { user: string }) {
    await session.login({ id: body.user });
    return { user: session.user };
  }

  @Put('key')
  @HttpCode(204)
  async putKey(@CurrentSession() session: RequestSession, @Body() body: { value: string }) {
    await this.vault.putSession(session.storedRecord!, 'partner', body.value);
  }

  @Get('key')
  async getKey(@CurrentSession() session: RequestSession) {
    const key = await this.vault.openSession(session.storedRecord!, 'partner');
    const minted = Object.keys(session.storedRecord!.data).filter((f) => f.startsWith('kw.mk:')).map((f) => f.slice('kw.mk:'.length));
    return { user: session.user!.id, key: key ? sha(key.reveal()) : null, minted };
  }

  @Post('switch')
  @HttpCode(200)
  async switchUser(@CurrentSession() session: RequestSession, @Body() body: { user: string }) {
    return { user: (await session.regenerate({ id: body.user })).user };
  }

  @Post('elevate')
  @HttpCode(200)
  async elevate(@CurrentSession() session: RequestSession) {
    return { user: (await session.regenerate({ ...session.user!, role: 'admin' })).user };
  }

  @Post('logout')
  @HttpCode(204)
  async logout(@CurrentSession() session: RequestSession) {
    await session.logout();
  }

  @Get('public')
  @AllowAnonymous()
  open() {
    return { ok: true };
  }
}

function startApp(adapter: AdapterName, options: KeywardModuleOptions) {
  @Module({ imports: [KeywardModule.forRoot(options)], controllers: [HardeningController] })
  class HardeningModule {}
  return listenTestModule(adapter, HardeningModule);
}

for (const adapter of ADAPTERS) {
  for (const kind of STORES) {
    describe(`session/vault hardening over HTTP (${adapter}, ${kind})`, () => {
      let app: { url: string; close(): Promise<void> };
      const issuer = new MemoryIssuer();
      before(async () => {
        app = await startApp(adapter, {
          session: { secrets: [SECRET], store: openStore(kind), sweepIntervalMs: 0 },
          vault: { keys: [vaultKey('k1')] },
          credentials: { minted: new MintedKeyProvider({ issuer }) },
        });
      });
      after(() => app?.close());
      const page = () => {
        const c = new Client(app.url);
        const h = { 'x-csrf': '1', origin: app.url };
        return {
          c,
          get: (p: string) => c.get(p, { headers: h }),
          post: (p: string, b?: unknown) => c.post(p, b, { headers: h }),
          put: (p: string, b?: unknown) => c.request('PUT', p, { body: b, headers: h }),
        };
      };

      it('regression #13: regenerate() as another user does not hand the first user\'s keys over', async () => {
        const p = page();
        assert.equal((await p.post('/login', { user: 'alice' })).status, 200);
        const aliceKey = `sk_live_${randomBytes(24).toString('base64url')}`;
        assert.equal((await p.put('/key', { value: aliceKey })).status, 204);
        const before = (await p.get('/key')).body as { key: string; minted: string[] };
        assert.equal(before.key, sha(aliceKey));
        assert.equal(before.minted.length, 1, 'alice got a minted key at login');
        const switched = await p.post('/switch', { user: 'bob' });
        assert.equal(switched.status, 200);
        assert.equal(switched.body.user.id, 'bob');
        const after = (await p.get('/key')).body as { user: string; key: string | null; minted: string[] };
        assert.equal(after.user, 'bob');
        assert.equal(after.key, null, 'bob must not open alice\'s key');
        assert.ok(!after.minted.includes(before.minted[0]!), 'alice\'s minted key is not in bob\'s ledger');
        assert.ok(issuer.revoked.includes(before.minted[0]!), 'alice\'s minted key was revoked when her session ended');
        assert.equal(after.minted.length, 1, 'bob got his own minted key');
        assert.equal(issuer.minted.find((m) => m.id === after.minted[0])?.userId, 'bob');
      });

      it('regression #13/#16: a same-user regenerate (privilege change) keeps the session\'s keys', async () => {
        const p = page();
        await p.post('/login', { user: 'carol' });
        const key = `sk_live_${randomBytes(24).toString('base64url')}`;
        await p.put('/key', { value: key });
        const minted = ((await p.get('/key')).body as { minted: string[] }).minted;
        const cookieBefore = p.c.cookieHeader;
        const r = await p.post('/elevate');
        assert.equal(r.status, 200);
        assert.equal(r.body.user.role, 'admin');
        assert.notEqual(p.c.cookieHeader, cookieBefore, 'new session ID');
        const after = (await p.get('/key')).body as { key: string; minted: string[] };
        assert.equal(after.key, sha(key), 'the key still opens after the ID changed');
        assert.deepEqual(after.minted, minted, 'the ledger carried over');
        assert.ok(!issuer.revoked.includes(minted[0]!));
      });

      it('regression #18: responses that set or clear the session cookie carry Cache-Control: no-store', async () => {
        const p = page();
        const checks: Array<[string, Awaited<ReturnType<typeof p.get>>]> = [];
        checks.push(['login', await p.post('/login', { user: 'dave' })]);
        checks.push(['switch', await p.post('/switch', { user: 'erin' })]);
        checks.push(['elevate', await p.post('/elevate')]);
        checks.push(['logout', await p.post('/logout')]);
        checks.push(['invalid cookie cleared', await p.c.get('/public', { cookie: `sid=${'A'.repeat(43)}.${'B'.repeat(43)}`, headers: { 'x-csrf': '1', origin: app.url } })]);
        for (const [what, r] of checks) {
          assert.ok(r.setCookies.length > 0, `${what}: sets a cookie`);
          assert.equal(r.headers.get('cache-control'), 'no-store', `${what}: Cache-Control`);
        }
        const plain = await page().get('/public');
        assert.equal(plain.setCookies.length, 0);
      });
    });
  }
}

// ---------------------------------------------------------------------------------------
// #16: data keys bound to their session; #17: provider state out of reach of public names
// ---------------------------------------------------------------------------------------

for (const kind of STORES) {
  describe(`vault binding (${kind})`, () => {
    let store: SessionStore;
    let ring: KeyRing;
    let vault: Vault;
    let n = 0;
    before(() => {
      store = openStore(kind);
      ring = new KeyRing(new Map([['k1', randomBytes(32)]]));
      vault = new Vault(ring, store);
    });
    after(() => store?.close());

    async function session(userId: string): Promise<StoredSession> {
      const now = Date.now();
      const key = `hk_${++n}_${randomBytes(8).toString('hex')}`;
      const s: StoredSession = { key, handle: key.slice(0, 12), userId, createdAt: now, lastSeenAt: now, idleExpiresAt: now + 30 * MIN, absoluteExpiresAt: now + 60 * MIN, version: 1, data: {} };
      await store.create(s);
      return s;
    }
    const reload = async (s: StoredSession) => (await store.load(s.key, { now: Date.now(), touchAfterMs: Number.MAX_SAFE_INTEGER, idleMs: 0 }))!;

    it('regression #16: a session data key copied with a credential into another session does not open there', async () => {
      const alice = await session('alice');
      const mallory = await session('mallory');
      const key = `sk_live_${randomBytes(24).toString('base64url')}`;
      await vault.putSession(alice, 'openai', key);
      const stored = (await reload(alice)).data;
      const copied = Object.fromEntries(Object.entries(stored).filter(([f]) => f.startsWith('kw.')));
      assert.ok(await store.patch(mallory.key, copied, []));
      const target = await reload(mallory);
      await assert.rejects(() => vault.openSession(target, 'openai'), (e: unknown) => e instanceof VaultError && e.code === VaultErrorCode.DecryptFailed && !e.message.includes(key));
      assert.equal((await vault.openSession(await reload(alice), 'openai'))!.reveal(), key, 'still opens in its own session');
    });

    it('regression #16: a data key of the unbound (v1) format is refused, never opened', async () => {
      const s = await session('legacy');
      const vid = randomBytes(16).toString('base64url');
      const dataKey = randomBytes(32);
      const legacyKey = `sk_live_${randomBytes(24).toString('base64url')}`;
      await store.patch(s.key, { 'kw.dek': `v1.${vid}.${ring.wrap(dataKey, `dek|s||${vid}`)}`, 'kw.c:openai': seal(dataKey, Buffer.from(legacyKey), `cred|s|${vid}|openai`) }, []);
      const reloaded = await reload(s);
      await assert.rejects(() => vault.openSession(reloaded, 'openai'), (e: unknown) => e instanceof VaultError && e.code === 'KW_VAULT_LEGACY_ENTRY' && !e.message.includes(legacyKey));
    });

    it('regression #17: a credential stored under a public name cannot steer the minted-key provider (no revocation of another session\'s key)', async () => {
      const issuer = new MemoryIssuer();
      const provider = new MintedKeyProvider({ issuer, rotateEveryMs: 10 * MIN, graceMs: MIN });
      const victim = await session('victim');
      const now = Date.now();
      await provider.acquire({ name: 'minted', session: victim, vault, now });
      const victimKeyId = issuer.minted[0]!.id;
      // The attacker's app lets users name their own credentials; the attacker picks the provider's name.
      const attacker = await session('attacker');
      // A planted JSON state is refused as a value since issue 23.1 (not a key's shape); a key-shaped value under the name is stored.
      await assert.rejects(() => vault.putSession(attacker, 'mk.minted', JSON.stringify({ id: victimKeyId, key: 'whatever', mintedAt: 0 })), { code: 'KW_INVALID_ARGUMENT' });
      await vault.putSession(attacker, 'mk.minted', `sk_${randomBytes(24).toString('base64url')}`);
      await provider.acquire({ name: 'minted', session: await reload(attacker), vault, now });
      const later = await reload(attacker);
      await provider.acquire({ name: 'minted', session: later, vault, now: now + 2 * MIN });
      assert.ok(issuer.minted.length >= 2, 'the attacker got a key of its own (the planted state was ignored)');
      const attackerKeyId = issuer.minted.at(-1)!.id;
      assert.notEqual(attackerKeyId, victimKeyId);
      await provider.onSessionEnded(await reload(attacker), 'logout', 'minted', vault);
      await new Promise((r) => setTimeout(r, 50));
      assert.ok(issuer.revoked.includes(attackerKeyId), 'ending the attacker\'s session revoked the attacker\'s own key');
      assert.ok(!issuer.revoked.includes(victimKeyId), 'the victim\'s key was not revoked');
      for (const bad of ['#mk.minted', '#', 'a#b']) {
        await assert.rejects(() => vault.putSession(attacker, bad, 'x'.repeat(20)), { code: 'KW_INVALID_ARGUMENT' });
      }
    });
  });
}

// ---------------------------------------------------------------------------------------
// #18: an instance whose clock lags must not revive an idle-expired session
// ---------------------------------------------------------------------------------------

describe('clock skew between instances (one real Redis)', () => {
  const engineAt = (clock: FakeClock, store: SessionStore) =>
    new SessionEngine(resolveKeywardOptions({ session: { secrets: [SECRET], store, clock, sweepIntervalMs: 0, idleTimeoutMs: 30 * MIN } }).session);

  it('regression #18: an instance whose clock lags does not revive an idle-expired session', async () => {
    const prefix = `kw:skew${++seq}:`;
    const stores = [0, 1, 2].map(() => new RedisStore({ url: redis.url, prefix }));
    try {
      const real = Date.now();
      // Instance A (in sync) logged the user in 40 minutes ago; idle timeout 30 minutes:
      // by the true time the session went idle 10 minutes ago.
      const a = engineAt(new FakeClock(real - 40 * MIN), stores[0]!);
      const issued = await a.create({ id: 'skew-user' });
      // Instance B's clock lags by 25 minutes: by its clock the session is 15 minutes idle.
      const b = engineAt(new FakeClock(real - 25 * MIN), stores[1]!);
      const seen = await b.resolve(issued.signedValue);
      assert.equal(seen.state, 'expired', 'the lagging instance judges by the store\'s clock');
      // An instance in sync finds no revived session either.
      const c = engineAt(new FakeClock(Date.now()), stores[2]!);
      assert.notEqual((await c.resolve(issued.signedValue)).state, 'active');
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('regression #18: once a lagging instance has seen a later clock, it judges idle expiry by that clock, touch or not', async () => {
    const prefix = `kw:skew${++seq}:`;
    const stores = [0, 1].map(() => new RedisStore({ url: redis.url, prefix }));
    try {
      const real = Date.now();
      const lagging = new FakeClock(real - 45 * MIN);
      const b = engineAt(lagging, stores[1]!);
      // B serves a session an in-sync instance A has just touched: a record seen "in the
      // future" by B's clock, which shows B that its clock lags.
      const fresh = await engineAt(new FakeClock(real), stores[0]!).create({ id: 'probe' });
      assert.equal((await b.resolve(fresh.signedValue)).state, 'active');
      lagging.advance(2 * MIN);
      // A session A last saw 43.5 minutes ago (idle timeout 30 minutes): by B's clock
      // (43 minutes behind) it was seen half a minute ago and no touch is due.
      const a = engineAt(new FakeClock(Date.now() - 43.5 * MIN), stores[0]!);
      const old = await a.create({ id: 'skew-user-2' });
      const seen = await b.resolve(old.signedValue);
      assert.equal(seen.state, 'expired');
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});
