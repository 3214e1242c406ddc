import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { Agent, request } from 'undici';
import { RedisStore } from '../src/index.js';
import { bffOptions } from './support/bff-options.js';
import { FakeClock } from './support/fake-clock.js';
import { HttpKeyIssuer } from './support/key-issuer.js';
import { RedisServer } from './support/redis-server.js';
import { secret } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import { startUpstream, type UpstreamHandle } from './support/upstream.js';

const SESSIONS = 1000;
const CONCURRENCY = 50;
const MIN = 60_000;
const ROTATE = 10 * MIN;
const GRACE = 5 * MIN;
const SERVER_KEY = `srv_${secret()}`;
const ADMIN = secret();
const PREFIX = 'iso:';

let redis: RedisServer;
let upstream: UpstreamHandle;
let issuer: HttpKeyIssuer;
let bff: RunningApp;
let agent: Agent;
const clock = new FakeClock();

before(async () => {
  [redis, upstream] = await Promise.all([RedisServer.launch(), startUpstream({ serverKeys: [SERVER_KEY], adminToken: ADMIN })]);
  issuer = new HttpKeyIssuer(upstream.url, ADMIN);
  bff = await startTestApp(
    'express',
    bffOptions({
      store: new RedisStore({ url: redis.url, prefix: PREFIX }),
      upstreamUrl: upstream.url,
      serverKeys: [SERVER_KEY],
      issuer,
      clock,
      rotateEveryMs: ROTATE,
      graceMs: GRACE,
      session: { idleTimeoutMs: 60 * MIN, absoluteTimeoutMs: 12 * 60 * MIN },
    }),
  );
  agent = new Agent({ connections: CONCURRENCY * 2, pipelining: 1, keepAliveTimeout: 10_000 });
});
after(async () => {
  await agent?.close();
  await bff?.close();
  await issuer?.close();
  await upstream?.close();
  await redis?.destroy();
});

interface Session {
  user: string;
  cookie: string;
  handle: string;
  byokId: string;
  byokKey: string;
  spareKey: string;
  /** keyIds this session was answered with, by credential. */
  seen: { minted: Set<string>; byok: Set<string> };
}

async function call(method: string, path: string, cookie: string | null, body?: unknown): Promise<{ status: number; json: any; setCookie: string[] }> {
  const headers: Record<string, string> = { 'x-csrf': '1', origin: bff.url };
  if (cookie) headers.cookie = cookie;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await request(`${bff.url}${path}`, { method: method as 'GET', headers, body: body === undefined ? undefined : JSON.stringify(body), dispatcher: agent });
  const text = await res.body.text();
  const sc = res.headers['set-cookie'];
  return { status: res.statusCode, json: text ? JSON.parse(text) : undefined, setCookie: sc === undefined ? [] : Array.isArray(sc) ? sc : [sc] };
}

/** Runs `fn` over `items`, at most `n` at a time. */
async function pool<T>(items: readonly T[], n: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

describe(`isolation under load: ${SESSIONS} concurrent sessions, each with its own minted and BYOK key`, () => {
  const sessions: Session[] = [];
  let calls = 0;
  let puts = 0;
  const failures: string[] = [];

  /** One proxied call, checked: the answer must carry this session's own key. */
  async function proxied(s: Session, credential: 'minted' | 'byok'): Promise<void> {
    const r = await call('GET', `/api/proxy/${credential}/echo?who=${encodeURIComponent(s.user)}`, s.cookie);
    calls++;
    if (r.status !== 200) {
      failures.push(`${s.user} ${credential}: ${r.status} ${JSON.stringify(r.json)}`);
      return;
    }
    const keyId: string = r.json.keyId;
    s.seen[credential].add(keyId);
    if (credential === 'byok') {
      if (keyId !== s.byokId) failures.push(`${s.user} got BYOK key ${keyId}, expected ${s.byokId}`);
    } else {
      const owner = issuer.minted.get(keyId);
      if (!owner) failures.push(`${s.user} got minted key ${keyId} that the issuer never minted`);
      else if (owner.sessionHandle !== s.handle || owner.userId !== s.user) failures.push(`${s.user} got minted key ${keyId} of ${owner.userId}`);
    }
    if (r.json.query?.who !== s.user) failures.push(`${s.user}: answer for ${JSON.stringify(r.json.query)}`);
  }

  it(`${SESSIONS} logins, each storing two keys of its own (BYOK minted at the upstream)`, async () => {
    const t0 = Date.now();
    const users = Array.from({ length: SESSIONS }, (_, i) => `iso-user-${i}`);
    await pool(users, CONCURRENCY, async (user) => {
      const login = await call('POST', '/login', null, { user });
      assert.equal(login.status, 200);
      const cookie = login.setCookie.map((c) => c.split(';')[0]!).join('; ');
      const byok = upstream.mint({ label: user });
      const spareKey = `spare_${secret()}`;
      const s: Session = { user, cookie, handle: login.json.handle, byokId: byok.id, byokKey: byok.key, spareKey, seen: { minted: new Set(), byok: new Set() } };
      // Both writes at once: they touch the same per-user data key.
      const [a, b] = await Promise.all([call('PUT', '/keys/byok', cookie, { key: byok.key }), call('PUT', '/keys/spare', cookie, { key: spareKey })]);
      assert.equal(a.status, 204);
      assert.equal(b.status, 204);
      puts += 2;
      sessions.push(s);
    });
    assert.equal(sessions.length, SESSIONS);
    assert.equal(new Set(sessions.map((s) => s.handle)).size, SESSIONS);
    console.log(`# ${SESSIONS} sessions logged in and stored ${puts} keys in ${Date.now() - t0} ms`);
  });

  it('hammering in parallel across a minted-key rotation: every answer carries the session\'s own key', async () => {
    const t0 = Date.now();
    let rotated = false;
    let done = 0;
    // Every session makes several calls at once; halfway through, the clock passes the rotation.
    await pool(sessions, CONCURRENCY, async (s) => {
      await Promise.all([proxied(s, 'minted'), proxied(s, 'byok'), proxied(s, 'minted')]);
      if (++done === SESSIONS / 2 && !rotated) {
        rotated = true;
        clock.advance(ROTATE + 1);
      }
      await Promise.all([proxied(s, 'minted'), proxied(s, 'minted'), proxied(s, 'byok'), proxied(s, 'minted')]);
    });
    assert.ok(rotated);
    // After the rotation every session makes a few more calls, all at once.
    await pool(sessions, CONCURRENCY, async (s) => {
      await Promise.all([proxied(s, 'minted'), proxied(s, 'minted'), proxied(s, 'byok')]);
    });
    assert.deepEqual(failures.slice(0, 20), [], `${failures.length} wrong answers`);

    // Cross-check: no key id was ever seen by two sessions.
    const owners = new Map<string, string>();
    for (const s of sessions) {
      for (const id of [...s.seen.minted, ...s.seen.byok]) {
        const prev = owners.get(id);
        assert.ok(prev === undefined || prev === s.user, `key ${id} seen by ${prev} and ${s.user}`);
        owners.set(id, s.user);
      }
    }
    const perSession = sessions.map((s) => issuer.idsFor(s.handle).length);
    const rotations = perSession.reduce((n, k) => n + k - 1, 0);
    const extra = perSession.filter((k) => k > 2).length;
    console.log(
      `# ${calls} proxied calls over ${SESSIONS} sessions in ${Date.now() - t0} ms; ${issuer.minted.size} keys minted, ${rotations} rotations ` +
        `(${perSession.filter((k) => k === 2).length} sessions rotated once, ${extra} minted more than one replacement); ${owners.size} distinct keys seen, none shared`,
    );
    for (const s of sessions) assert.ok(s.seen.minted.size >= 1 && s.seen.byok.size === 1);
    assert.ok(rotations >= SESSIONS, 'every session rotated its minted key');
    assert.equal(extra, 0, `${extra} sessions minted more than one replacement key in a single rotation (the extra keys are never retired)`);
  });

  it('no write was lost: every PUT is stored, every session holds its ledger and current key', async () => {
    const inspector = new Redis(redis.url);
    try {
      let stored = 0;
      let userHashes = 0;
      let cursor = '0';
      do {
        const [next, keys] = await inspector.scan(cursor, 'MATCH', `${PREFIX}ue:*`, 'COUNT', 1000);
        cursor = next;
        for (const key of keys) {
          userHashes++;
          const fields = await inspector.hkeys(key);
          stored += fields.filter((f) => f.startsWith('c:')).length;
          assert.ok(fields.includes('kw.dek'), `${key} has its data key`);
          assert.equal(fields.filter((f) => f === 'kw.dek').length, 1);
        }
      } while (cursor !== '0');
      let records = 0;
      cursor = '0';
      do {
        const [next, keys] = await inspector.scan(cursor, 'MATCH', `${PREFIX}s:*`, 'COUNT', 1000);
        cursor = next;
        for (const key of keys) {
          records++;
          const fields = await inspector.hkeys(key);
          assert.ok(fields.includes('d:kw.dek') && fields.includes('d:kw.c:#mk.minted'), `${key}: ${fields.join(',')}`);
          assert.ok(fields.some((f) => f.startsWith('d:kw.mk:')), 'the ledger of issued keys');
        }
      } while (cursor !== '0');
      console.log(`# writes: ${puts} PUTs acknowledged, ${stored} user entries stored in ${userHashes} user hashes; ${records} session records`);
      assert.equal(stored, puts);
      assert.equal(userHashes, SESSIONS);
      assert.equal(records, SESSIONS);
    } finally {
      inspector.disconnect();
    }
    // And each user's two keys open to exactly what that user stored.
    for (const s of sessions.slice(0, 100)) {
      assert.equal((await bff.vault.openUser(s.user, 'byok'))!.reveal(), s.byokKey);
      assert.equal((await bff.vault.openUser(s.user, 'spare'))!.reveal(), s.spareKey);
    }
  });

  it('after the grace period the rotated-out keys are revoked; after logout none of the minted keys is active', async () => {
    clock.advance(GRACE + 1);
    await pool(sessions, CONCURRENCY, async (s) => proxied(s, 'minted'));
    const current = new Set(sessions.map((s) => [...s.seen.minted].at(-1)!));
    const retired = [...issuer.minted.keys()].filter((id) => !current.has(id));
    const deadline = Date.now() + 15_000;
    while (retired.some((id) => upstream.keyStatus(id)?.active) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const stillActive = retired.filter((id) => upstream.keyStatus(id)?.active);
    console.log(`# ${retired.length} rotated-out keys, ${retired.length - stillActive.length} revoked after the grace period`);
    assert.deepEqual(stillActive.slice(0, 10), [], `${stillActive.length} rotated-out keys are still active after the grace period`);
    await pool(sessions, CONCURRENCY, async (s) => {
      assert.equal((await call('POST', '/logout', s.cookie)).status, 204);
    });
    const active = [...issuer.minted.keys()].filter((id) => upstream.keyStatus(id)?.active);
    console.log(`# after ${SESSIONS} logouts: ${active.length} of ${issuer.minted.size} minted keys active; upstream ${JSON.stringify(upstream.adminStats())}`);
    assert.deepEqual(active, []);
    assert.deepEqual(failures.slice(0, 20), []);
  });
});
