import 'reflect-metadata';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { RedisStore, SqliteStore, type SessionStore } from '../src/index.js';
import { ADAPTERS } from './support/adapters.js';
import { bffOptions } from './support/bff-options.js';
import { PageClient } from './support/clients.js';
import { FakeClock } from './support/fake-clock.js';
import { HttpKeyIssuer } from './support/key-issuer.js';
import { RedisServer } from './support/redis-server.js';
import { secret } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import { startUpstream, type UpstreamHandle } from './support/upstream.js';
import { waitFor } from './support/wait-for.js';

const MIN = 60_000;
const IDLE = 30 * MIN;
const ABSOLUTE = 60 * MIN;
const ROTATE = 5 * MIN;
const GRACE = 2 * MIN;
const SERVER_KEY = `srv_${secret()}`;
const ADMIN = secret();

const tmp = mkdtempSync(join(tmpdir(), 'kw-vault-life-'));
let redis: RedisServer;
let inspector: Redis;
let upstream: UpstreamHandle;
before(async () => {
  [redis, upstream] = await Promise.all([RedisServer.launch(), startUpstream({ serverKeys: [SERVER_KEY], adminToken: ADMIN })]);
  inspector = new Redis(redis.url);
});
after(async () => {
  inspector?.disconnect();
  await upstream?.close();
  await redis?.destroy();
  rmSync(tmp, { recursive: true, force: true });
});

type StoreKind = 'sqlite' | 'redis';
let seq = 0;

/** What the store holds, seen from outside the store class (raw Redis keys and values / raw SQLite rows). */
interface StoreView {
  /** Every stored thing as text: Redis key names and values, or SQLite rows. */
  dump(): Promise<string[]>;
  /** Names of the session records present. */
  sessionKeys(): Promise<string[]>;
  /** Things left that are not per-user entries (nor the sweeper's lease). */
  leftovers(): Promise<string[]>;
}

function storeFor(kind: StoreKind): { store: SessionStore; view: StoreView } {
  const tag = `${kind}-${++seq}`;
  if (kind === 'redis') {
    const prefix = `life:${tag}:`;
    const view: StoreView = {
      async dump() {
        const out: string[] = [];
        for (const key of await inspector.keys(`${prefix}*`)) {
          const type = await inspector.type(key);
          const value =
            type === 'hash' ? JSON.stringify(await inspector.hgetall(key))
            : type === 'set' ? JSON.stringify(await inspector.smembers(key))
            : type === 'zset' ? JSON.stringify(await inspector.zrange(key, '0', '-1'))
            : String(await inspector.get(key));
          out.push(`${key} = ${value}`);
        }
        return out;
      },
      async sessionKeys() {
        return (await inspector.keys(`${prefix}s:*`)).map((k) => k.slice(`${prefix}s:{`.length, -1));
      },
      async leftovers() {
        return (await inspector.keys(`${prefix}*`)).map((k) => k.slice(prefix.length)).filter((k) => !/^ue:\{[^}]+\}$/.test(k) && k !== 'lease:sweep');
      },
    };
    return { store: new RedisStore({ url: redis.url, prefix }), view };
  }
  const file = join(tmp, `${tag}.sqlite`);
  const rows = (sql: string): Array<Record<string, unknown>> => {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      return db.prepare(sql).all() as Array<Record<string, unknown>>;
    } finally {
      db.close();
    }
  };
  const view: StoreView = {
    async dump() {
      return ['kw_sessions', 'kw_session_data', 'kw_user_entries', 'kw_leases'].flatMap((t) => rows(`SELECT * FROM ${t}`).map((r) => `${t} ${JSON.stringify(r)}`));
    },
    async sessionKeys() {
      return rows('SELECT key FROM kw_sessions').map((r) => String(r.key));
    },
    async leftovers() {
      return [...rows('SELECT key FROM kw_sessions'), ...rows('SELECT key, name FROM kw_session_data'), ...rows("SELECT name FROM kw_leases WHERE name <> 'sweep'")].map((r) => JSON.stringify(r));
    },
  };
  return { store: new SqliteStore({ file }), view };
}

async function mintedKeyIdOf(client: PageClient): Promise<string> {
  const r = await client.get('/api/proxy/minted/echo');
  assert.equal(r.status, 200, r.text);
  assert.match(r.body.keyId, /^mk_[0-9a-f]{16}$/);
  return r.body.keyId as string;
}

/** The upstream's own record says the key no longer works (GET /admin/keys/:id and the in-process handle agree). */
async function assertRevoked(issuer: HttpKeyIssuer, id: string, what: string): Promise<void> {
  await waitFor(async () => (await issuer.status(id))?.active === false, 10_000, () => `${what}: ${id} revoked at the upstream`);
  assert.equal(upstream.keyStatus(id)?.active, false);
  const key = issuer.minted.get(id)!.key;
  const direct = await fetch(`${upstream.url}/v1/echo`, { headers: { 'x-api-key': key } });
  assert.equal(direct.status, 401, `${what}: the revoked key still authenticates`);
}

async function assertActive(issuer: HttpKeyIssuer, id: string): Promise<void> {
  assert.equal((await issuer.status(id))?.active, true, `${id} active`);
  const direct = await fetch(`${upstream.url}/v1/echo`, { headers: { 'x-api-key': issuer.minted.get(id)!.key } });
  assert.equal(direct.status, 200);
}

for (const adapter of ADAPTERS) {
  for (const kind of ['sqlite', 'redis'] as const) {
    describe(`vault entries and minted keys live exactly as long as the session: ${adapter} + ${kind}`, () => {
      let bff: RunningApp;
      let issuer: HttpKeyIssuer;
      let clock: FakeClock;
      let view: StoreView;
      let users = 0;

      before(async () => {
        clock = new FakeClock();
        issuer = new HttpKeyIssuer(upstream.url, ADMIN);
        const made = storeFor(kind);
        view = made.view;
        bff = await startTestApp(
          adapter,
          bffOptions({
            store: made.store,
            upstreamUrl: upstream.url,
            serverKeys: [SERVER_KEY],
            issuer,
            clock,
            rotateEveryMs: ROTATE,
            graceMs: GRACE,
            session: { idleTimeoutMs: IDLE, absoluteTimeoutMs: ABSOLUTE, touchIntervalMs: MIN },
          }),
        );
      });
      after(async () => {
        await bff?.close();
        await issuer?.close();
      });

      /** A logged-in user with a minted key, a session-scoped vault entry and a BYOK entry. */
      async function loggedIn(user = `${adapter}-${kind}-user-${++users}`): Promise<{ client: PageClient; user: string; keyId: string; sessionKey: string; handle: string }> {
        const before = new Set(await view.sessionKeys());
        const client = new PageClient(bff.url);
        const login = await client.post('/login', { user });
        assert.equal(login.status, 200, login.text);
        assert.equal((await client.put('/session-keys/partner', { key: `partner_${secret()}` })).status, 204);
        const byok = upstream.mint();
        assert.equal((await client.put('/keys/byok', { key: byok.key })).status, 204);
        assert.equal((await client.get('/api/proxy/byok/echo')).body.keyId, byok.id);
        const keyId = await mintedKeyIdOf(client);
        const created = (await view.sessionKeys()).filter((k) => !before.has(k));
        assert.equal(created.length, 1, 'one new session record');
        return { client, user, keyId, sessionKey: created[0]!, handle: login.body.handle };
      }

      /** Nothing in the store refers to the session: no record, no data, no index entry, no key name or value mentioning it. */
      async function assertNothingLeft(s: { sessionKey: string; handle: string }, what: string): Promise<void> {
        assert.ok(!(await view.sessionKeys()).includes(s.sessionKey), `${what}: the record is still there`);
        const dump = await view.dump();
        const mentions = dump.filter((line) => line.includes(s.sessionKey) || line.includes(s.handle));
        assert.deepEqual(mentions, [], `${what}: the store still refers to the session`);
      }

      it('logout: vault entries gone with the record, minted key revoked at the upstream, BYOK stays with the user', async () => {
        const s = await loggedIn();
        const rec = (await view.dump()).filter((l) => l.includes(s.sessionKey)).join('\n');
        assert.ok(rec.includes('kw.dek') && rec.includes('kw.c:partner') && rec.includes('kw.c:#mk.minted'), 'the session holds its vault entries');
        assert.equal((await s.client.post('/logout')).status, 204);
        await assertNothingLeft(s, 'logout');
        await assertRevoked(issuer, s.keyId, 'logout');
        assert.equal((await s.client.get('/api/proxy/minted/echo')).status, 401);
        // The user's own key is per user, not per session: it remains for the next login.
        const again = new PageClient(bff.url);
        await again.post('/login', { user: s.user });
        const keys = await again.get('/keys');
        assert.deepEqual(keys.body.map((k: { service: string }) => k.service), ['byok']);
        await again.post('/logout');
      });

      it('logout-all: every session of the user ends, every minted key revoked, nothing left', async () => {
        const a = await loggedIn();
        const b = await loggedIn(a.user);
        const other = await loggedIn();
        assert.notEqual(a.keyId, b.keyId);
        assert.equal((await b.client.post('/logout-all')).status, 204);
        await assertNothingLeft(a, 'logout-all (a)');
        await assertNothingLeft(b, 'logout-all (b)');
        await assertRevoked(issuer, a.keyId, 'logout-all a');
        await assertRevoked(issuer, b.keyId, 'logout-all b');
        await assertActive(issuer, other.keyId);
        assert.equal((await a.client.get('/me')).status, 401);
        await other.client.post('/logout');
      });

      it('revoke one session by its handle: its entries and minted key go, the other session keeps its own', async () => {
        const a = await loggedIn();
        const b = await loggedIn(a.user);
        assert.equal((await a.client.delete(`/sessions/${encodeURIComponent(b.handle)}`)).status, 204);
        await assertNothingLeft(b, 'revoke');
        await assertRevoked(issuer, b.keyId, 'revoke');
        await assertActive(issuer, a.keyId);
        assert.equal(await mintedKeyIdOf(a.client), a.keyId);
        await a.client.post('/logout');
      });

      it('idle expiry of a user who never returns: the sweeper revokes the key and removes the record', async () => {
        const s = await loggedIn();
        const keep = await loggedIn();
        clock.advance(IDLE - MIN);
        assert.equal((await keep.client.get('/me')).status, 200); // keeps `keep` alive
        clock.advance(2 * MIN);
        assert.ok((await bff.sessions.sweep()) >= 1);
        await assertNothingLeft(s, 'idle expiry (sweeper)');
        await assertRevoked(issuer, s.keyId, 'idle expiry (sweeper)');
        await assertActive(issuer, keep.keyId);
        const back = await s.client.get('/me');
        assert.equal(back.status, 401);
        await keep.client.post('/logout');
      });

      it('idle expiry noticed on the next request: 401 KW_SESSION_EXPIRED, key revoked, nothing left', async () => {
        const s = await loggedIn();
        clock.advance(IDLE + 1);
        const r = await s.client.get('/api/proxy/minted/echo');
        assert.equal(r.status, 401);
        assert.equal(r.body.code, 'KW_SESSION_EXPIRED');
        await assertNothingLeft(s, 'idle expiry (request)');
        await assertRevoked(issuer, s.keyId, 'idle expiry (request)');
      });

      it('absolute expiry of an active session: the sweeper ends it, revokes every key it was issued, leaves nothing', async () => {
        const s = await loggedIn();
        // Active every 25 minutes, so only the absolute deadline can end it.
        const ids = new Set([s.keyId]);
        for (let t = 0; t < 2; t++) {
          clock.advance(25 * MIN);
          ids.add(await mintedKeyIdOf(s.client)); // rotates too (ROTATE < 25 min)
        }
        assert.ok(ids.size >= 2, 'rotated at least once');
        clock.advance(15 * MIN); // 65 min after login, 15 since the last request
        assert.ok((await bff.sessions.sweep()) >= 1);
        await assertNothingLeft(s, 'absolute expiry');
        for (const id of ids) await assertRevoked(issuer, id, 'absolute expiry');
        // Every key the issuer ever minted for this session is dead.
        for (const id of issuer.idsFor(s.handle)) await assertRevoked(issuer, id, 'absolute expiry (ledger)');
      });

      it('regeneration carries the vault entries to the new ID and leaves nothing under the old one', async () => {
        const s = await loggedIn();
        assert.ok((await view.dump()).some((l) => l.includes(s.sessionKey) && l.includes('kw.dek')), 'the session holds a data key');
        const oldCookie = s.client.cookieHeader;
        const masked = (await s.client.get('/session-keys/partner')).body.masked;
        const r = await s.client.post('/elevate');
        assert.equal(r.status, 200, r.text);
        assert.notEqual(s.client.cookieHeader, oldCookie);
        await assertNothingLeft(s, 'regeneration (old ID)');
        assert.equal((await view.sessionKeys()).length >= 1, true);
        // The same credentials, opened under the new ID.
        assert.deepEqual((await s.client.get('/session-keys/partner')).body, { present: true, masked });
        assert.equal(await mintedKeyIdOf(s.client), s.keyId, 'the same minted key, not a new one');
        await assertActive(issuer, s.keyId);
        // The old cookie is dead.
        const replay = await new PageClient(bff.url).get('/me', { cookie: oldCookie });
        assert.equal(replay.status, 401);
        await s.client.post('/logout');
        await assertRevoked(issuer, s.keyId, 'logout after regeneration');
      });

      it('rotation: a new key is used after rotateEveryMs, the old one works during the grace period and is revoked after it', async () => {
        const s = await loggedIn();
        const first = s.keyId;
        clock.advance(ROTATE + 1);
        const second = await mintedKeyIdOf(s.client);
        assert.notEqual(second, first, 'rotated');
        assert.equal(issuer.minted.get(second)!.sessionHandle, s.handle);
        await assertActive(issuer, first); // in flight calls with the old key still work
        await assertActive(issuer, second);
        assert.equal(await mintedKeyIdOf(s.client), second, 'the new key is the one used');
        clock.advance(GRACE + 1);
        assert.equal(await mintedKeyIdOf(s.client), second);
        await assertRevoked(issuer, first, 'after grace');
        await assertActive(issuer, second);
        await s.client.post('/logout');
        await assertRevoked(issuer, second, 'logout after rotation');
      });

      {
        it('advisory snippet leaves sess:<id>:apiKey behind — keyward leaves nothing', async () => {
          const s = await loggedIn();
          // A rotation during the session (its bookkeeping must die with the session too).
          clock.advance(ROTATE + 1);
          assert.notEqual(await mintedKeyIdOf(s.client), s.keyId);
          const during = await view.leftovers();
          assert.ok(during.some((k) => k.includes(s.sessionKey)), 'while logged in, the record exists');
          assert.equal((await s.client.post('/logout')).status, 204);
          // After logout: the only things left are per-user BYOK entries (and the sweeper's lease).
          const left = await view.leftovers();
          assert.deepEqual(left, [], `left behind after logout: ${left.join(', ')}`);
          if (kind === 'redis') {
            const all = await inspector.keys('*');
            assert.deepEqual(all.filter((k) => k.includes(s.sessionKey) || /apiKey|:key$/i.test(k)), []);
          }
          await assertRevoked(issuer, s.keyId, 'logout');
        });
      }
    });
  }
}
