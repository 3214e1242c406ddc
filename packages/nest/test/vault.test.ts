import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import {
  KeyRing,
  RedisStore,
  Secret,
  SqliteStore,
  Vault,
  VaultError,
  VaultErrorCode,
  maskSecret,
  parseVaultKeys,
  type SessionStore,
  type StoredSession,
} from '../src/index.js';
import { open, seal } from '../src/vault/key-ring.js';
import { RedisServer, redisSuite } from './support/redis-server.js';
import { findSecrets } from './support/secrets.js';

let redis: RedisServer;
const tmp = redisSuite('kw-vault-', (server) => (redis = server));

const kek = (): Buffer => randomBytes(32);
const ring = (...entries: Array<[string, Buffer]>): KeyRing => new KeyRing(new Map(entries));
/** A realistic API key: high-entropy, so a hit in raw bytes can only be the key itself. */
const apiKey = (tag = 'sk'): string => `${tag}_live_${randomBytes(30).toString('base64url')}`;

/** Asserts a VaultError with the code, whose message, inspection and JSON never contain any of the secrets. */
async function expectVaultError(fn: () => Promise<unknown> | unknown, code: string | string[], secrets: string[]): Promise<VaultError> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof VaultError, `expected a VaultError, got ${inspect(caught)}`);
  const codes = Array.isArray(code) ? code : [code];
  assert.ok(codes.includes(caught.code), `code ${caught.code}, expected ${codes.join(' or ')}`);
  assert.equal(caught.name, 'VaultError');
  const text = `${caught.message}\n${caught.stack}\n${inspect(caught, { depth: 5 })}\n${JSON.stringify(caught)}\n${String(caught)}`;
  assert.deepEqual(findSecrets(text, secrets), [], `the error shows a secret: ${caught.message}`);
  return caught;
}

// ---------------------------------------------------------------------------------------
// Key ring, seal/open, key parsing, Secret, mask (no store)
// ---------------------------------------------------------------------------------------

describe('key ring: AES-256-GCM seal/open', () => {
  it('round-trips any byte string, and every seal is different (random IV)', () => {
    const key = kek();
    for (const plain of [Buffer.alloc(0), Buffer.from('x'), randomBytes(1), randomBytes(4096), Buffer.from('ключ 🔑 \u0000\r\n', 'utf8')]) {
      const a = seal(key, plain, 'aad');
      const b = seal(key, plain, 'aad');
      assert.notEqual(a, b);
      assert.match(a, /^[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{22}$/);
      assert.deepEqual(open(key, a, 'aad'), plain);
    }
  });

  it('AAD binds the ciphertext: another AAD, another key -> KW_VAULT_DECRYPT_FAILED', async () => {
    const key = kek();
    const plain = apiKey();
    const sealed = seal(key, Buffer.from(plain), 'cred|s|vid|openai');
    await expectVaultError(() => open(key, sealed, 'cred|s|vid|other'), VaultErrorCode.DecryptFailed, [plain]);
    await expectVaultError(() => open(key, sealed, 'cred|s|vid2|openai'), VaultErrorCode.DecryptFailed, [plain]);
    await expectVaultError(() => open(kek(), sealed, 'cred|s|vid|openai'), VaultErrorCode.DecryptFailed, [plain]);
  });

  it('tampered, truncated and malformed sealed values -> stable codes, never a crash', async () => {
    const key = kek();
    const plain = apiKey();
    const sealed = seal(key, Buffer.from(plain), 'a');
    const [iv, ct, tag] = sealed.split('.') as [string, string, string];
    const flip = (s: string, i: number): string => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    const decryptFailed: string[] = [`${iv}.${flip(ct, 3)}.${tag}`, `${flip(iv, 2)}.${ct}.${tag}`, `${iv}.${ct}.${flip(tag, 5)}`, `${iv}.${ct.slice(0, -4)}.${tag}`, `${iv}.${ct}${ct}.${tag}`, `${iv}..${tag}`];
    for (const bad of decryptFailed) await expectVaultError(() => open(key, bad, 'a'), VaultErrorCode.DecryptFailed, [plain]);
    const malformed: unknown[] = ['', '.', '..', 'a.b', `${iv}.${ct}`, `${iv}.${ct}.${tag}.x`, `${iv}.${ct}.${tag.slice(0, -2)}`, `${iv.slice(0, 4)}.${ct}.${tag}`, sealed.slice(0, 10), undefined, null, 42, {}, Object.create(null)];
    for (const bad of malformed) await expectVaultError(() => open(key, bad as string, 'a'), VaultErrorCode.Malformed, [plain]);
  });

  it('wrap/unwrap: newest key wraps, any listed key unwraps; unknown id and wrong id are distinct codes', async () => {
    const k1 = kek();
    const k2 = kek();
    const dataKey = randomBytes(32);
    const old = ring(['k1', k1]);
    const wrapped = old.wrap(dataKey, 'x');
    assert.ok(wrapped.startsWith('k1.'));
    const rotated = ring(['k2', k2], ['k1', k1]);
    assert.deepEqual(rotated.unwrap(wrapped, 'x'), { dataKey, stale: true });
    assert.ok(rotated.wrap(dataKey, 'x').startsWith('k2.'));
    assert.equal(rotated.unwrap(rotated.wrap(dataKey, 'x'), 'x').stale, false);
    // Only k2 left: the k1 entry names a key the ring does not have.
    const e = await expectVaultError(() => ring(['k2', k2]).unwrap(wrapped, 'x'), VaultErrorCode.UnknownKeyId, []);
    assert.match(e.message, /KEYWARD_VAULT_KEYS/, 'says what to do');
    // The entry claims k2 but was wrapped with k1: authentication fails.
    await expectVaultError(() => rotated.unwrap(`k2${wrapped.slice(2)}`, 'x'), VaultErrorCode.DecryptFailed, []);
    for (const bad of ['', 'k1', '.abc', 'k1.', 'k1.a.b', 'nokey']) await expectVaultError(() => rotated.unwrap(bad, 'x'), [VaultErrorCode.Malformed, VaultErrorCode.UnknownKeyId], []);
    assert.throws(() => new KeyRing(new Map()), TypeError);
  });

  it('parseVaultKeys reports every bad entry and never echoes key material', () => {
    const good = randomBytes(32).toString('base64');
    const short = randomBytes(31).toString('base64');
    const long = randomBytes(33).toString('base64');
    const problems: string[] = [];
    const keys = parseVaultKeys([`k1:${good}`, `k2:${short}`, `k3:${long}`, `:${good}`, `bad id!:${good}`, `k1:${good}`, 'k5:not base64 !!', 42 as unknown as string, `${'x'.repeat(33)}:${good}`, `k6:${good}\r\n`], problems);
    assert.equal(keys.size, 1);
    assert.equal(problems.length, 9, problems.join('\n'));
    const text = problems.join('\n');
    for (const material of [good, short, long]) assert.ok(!text.includes(material), 'a key appears in a problem message');
    const none: string[] = [];
    parseVaultKeys([], none);
    assert.equal(none.length, 1);
    parseVaultKeys(undefined as unknown as string[], none);
    assert.equal(none.length, 2);
  });
});

describe('Secret and maskSecret', () => {
  it('String(), JSON.stringify, util.inspect, template literals, concatenation and console formatting print [REDACTED]', () => {
    const plain = apiKey();
    const s = new Secret(plain);
    assert.equal(String(s), '[REDACTED]');
    assert.equal(`${s}`, '[REDACTED]');
    assert.equal('' + (s as unknown as string), '[REDACTED]');
    assert.equal(s.toString(), '[REDACTED]');
    assert.equal(JSON.stringify(s), '"[REDACTED]"');
    assert.equal(JSON.stringify({ nested: { s } }), '{"nested":{"s":"[REDACTED]"}}');
    for (const shown of [inspect(s), inspect({ s }, { depth: 10, showHidden: true }), inspect([s]), `${[s]}`, Object.keys(s).join(), JSON.stringify(Object.entries(s))]) {
      assert.ok(!shown.includes(plain), `leaked: ${shown}`);
    }
    assert.match(inspect(s), /REDACTED/);
    assert.equal(s.reveal(), plain);
    assert.ok(!JSON.stringify(structuredClone(s)).includes(plain));
  });

  it('refuses empty and non-string values', () => {
    for (const bad of ['', undefined, null, 42, {}, Object.create(null)] as unknown[]) assert.throws(() => new Secret(bad as string), TypeError);
  });

  it('maskSecret shows at most the last 4 characters, never more than a quarter', () => {
    for (let len = 1; len <= 80; len++) {
      const value = randomBytes(80).toString('base64url').slice(0, len);
      const masked = maskSecret(value);
      const visible = masked.replace(/^•+/, '');
      assert.ok(visible.length <= 4, `${len}: ${masked}`);
      assert.ok(visible.length <= len / 4, `${len}: shows ${visible.length}`);
      assert.ok(value.endsWith(visible));
      if (len >= 8) assert.ok(!masked.includes(value.slice(0, 5)), 'shows the start');
    }
    assert.equal(maskSecret('sk_live_abcdefghijklmnop1234'), '••••1234');
  });
});

// ---------------------------------------------------------------------------------------
// The vault over both stores
// ---------------------------------------------------------------------------------------

type StoreKind = 'sqlite' | 'redis';
let seq = 0;

function makeStore(kind: StoreKind, tag: string): { store: SessionStore; file?: string; prefix?: string } {
  if (kind === 'sqlite') {
    const file = join(tmp, `${tag}.sqlite`);
    return { store: new SqliteStore({ file }), file };
  }
  const prefix = `vt:${tag}:`;
  return { store: new RedisStore({ url: redis.url, prefix }), prefix };
}

async function newSession(store: SessionStore, userId = `user-${++seq}`): Promise<StoredSession> {
  const now = Date.now();
  const key = randomBytes(32).toString('base64url');
  const record: StoredSession = {
    key, handle: key.slice(0, 22), userId, createdAt: now, lastSeenAt: now, idleExpiresAt: now + 3_600_000, absoluteExpiresAt: now + 7_200_000, version: 1, data: {},
  };
  await store.create(record);
  return record;
}

async function reload(store: SessionStore, record: StoredSession): Promise<StoredSession> {
  const fresh = await store.load(record.key, { now: Date.now(), touchAfterMs: Number.MAX_SAFE_INTEGER, idleMs: 0 });
  assert.ok(fresh, 'session still exists');
  return fresh;
}

for (const kind of ['sqlite', 'redis'] as const) {
  describe(`vault on the ${kind} store`, () => {
    const opened: SessionStore[] = [];
    after(async () => {
      for (const s of opened) await s.close().catch(() => undefined);
    });
    const fresh = (tag: string) => {
      const made = makeStore(kind, `${tag}-${++seq}`);
      opened.push(made.store);
      return made;
    };

    it('session and user credentials round-trip; user keys are write-only (listUser shows masks)', async () => {
      const { store } = fresh('roundtrip');
      const vault = new Vault(ring(['k1', kek()]), store);
      const s = await newSession(store);
      const a = apiKey('a');
      const b = apiKey('b');
      await vault.putSession(s, 'openai', a);
      await vault.putSession(s, 'maps', b);
      assert.equal((await vault.openSession(s, 'openai'))!.reveal(), a);
      assert.equal((await vault.openSession(await reload(store, s), 'maps'))!.reveal(), b);
      assert.equal(await vault.openSession(s, 'none'), undefined);
      const u = apiKey('u');
      await vault.putUser('alice', 'byok', u);
      assert.equal((await vault.openUser('alice', 'byok'))!.reveal(), u);
      assert.equal(await vault.openUser('bob', 'byok'), undefined);
      const listed = await vault.listUser('alice');
      assert.deepEqual(listed.map((l) => [l.name, l.masked]), [['byok', `••••${u.slice(-4)}`]]);
      assert.ok(!JSON.stringify(listed).includes(u.slice(0, -4)));
      assert.equal(await vault.removeUser('alice', 'byok'), true);
      assert.equal(await vault.removeUser('alice', 'byok'), false);
      assert.equal(await vault.openUser('alice', 'byok'), undefined);
      await vault.removeSession(s, 'maps');
      assert.equal(await vault.openSession(await reload(store, s), 'maps'), undefined);
    });

    // Issue 23, point 5: after a KEK rotation, a request holding the record from before an ID
    // rotation re-wrapped the data key for the old store key, and the write landed on the
    // successor: the session's vault entries stopped opening.
    it('a stale record re-wrapping its data key after a KEK rotation leaves the rotated session\'s entries openable', async () => {
      const { store } = fresh('rewrap-stale');
      const k1: [string, Buffer] = ['k1', kek()];
      const before = new Vault(ring(k1), store);
      const s = await newSession(store);
      const a = apiKey('a');
      await before.putSession(s, 'openai', a);
      const stale = await reload(store, s);
      // The KEK rotates (k2 newest), then another instance rotates the session's ID: its data
      // key is re-wrapped for the new store key on the way, as the engine's listener does.
      const after = new Vault(ring(['k2', kek()], k1), store);
      const nextKey = randomBytes(32).toString('base64url');
      const successor: StoredSession = { ...stale, key: nextKey, version: 1, data: after.rebindSession(stale.data, stale.key, nextKey) };
      const now = Date.now();
      const link = { key: nextKey, sealedId: randomBytes(40).toString('base64url'), rotatedAt: now, graceUntil: now + 60_000, keepUntil: s.absoluteExpiresAt + 60_000 };
      assert.deepEqual(await store.rotate!({ key: stale.key, version: stale.version }, successor, link), { state: 'rotated' });
      // The request that read the record before the rotation opens its entry (and finds its data key wrapped with k1).
      assert.equal((await after.openSession(stale, 'openai'))!.reveal(), a);
      // The rotated session still opens its entries.
      assert.equal((await after.openSession(await reload(store, successor), 'openai'))!.reveal(), a);
    });

    it('hostile names and values are refused with KW_INVALID_ARGUMENT, the value never echoed', async () => {
      const { store } = fresh('hostile');
      const vault = new Vault(ring(['k1', kek()]), store);
      const s = await newSession(store);
      for (const name of ['', 'a/b', 'a b', '__proto__\u0000', 'x'.repeat(97), 'é', '\r\n', undefined, 42] as unknown[]) {
        await assert.rejects(vault.putSession(s, name as string, apiKey()), (e: Error & { code?: string }) => e.code === 'KW_INVALID_ARGUMENT');
      }
      for (const value of ['', ' padded ', 'new\nline', 'tab\tkey', 'nul\u0000', 'ключ', 'x'.repeat(8193), undefined, 42] as unknown[]) {
        await assert.rejects(vault.putUser('alice', 'byok', value as string), (e: Error & { code?: string }) => {
          assert.equal(e.code, 'KW_INVALID_ARGUMENT');
          if (typeof value === 'string' && value.length > 3) assert.ok(!e.message.includes(value));
          return true;
        });
      }
      // `__proto__` as a user id or name stays a plain entry.
      const protoKey = apiKey('proto');
      await vault.putUser('__proto__', 'constructor', protoKey);
      assert.equal((await vault.openUser('__proto__', 'constructor'))!.reveal(), protoKey);
    });

    it('AAD binding: a ciphertext copied to another session or another name fails with KW_VAULT_DECRYPT_FAILED', async () => {
      const { store } = fresh('aad');
      const vault = new Vault(ring(['k1', kek()]), store);
      const a = await newSession(store);
      const b = await newSession(store);
      const plain = apiKey();
      await vault.putSession(a, 'openai', plain);
      await vault.putSession(b, 'openai', apiKey());
      const sealed = (await reload(store, a)).data['kw.c:openai']!;
      // Into another session, same name.
      assert.ok(await store.patch(b.key, { 'kw.c:openai': sealed }, []));
      await expectVaultError(async () => vault.openSession(await reload(store, b), 'openai'), VaultErrorCode.DecryptFailed, [plain]);
      // Into the same session, another name.
      assert.ok(await store.patch(a.key, { 'kw.c:maps': sealed }, []));
      await expectVaultError(async () => vault.openSession(await reload(store, a), 'maps'), VaultErrorCode.DecryptFailed, [plain]);
      // User scope: into another user, and under another name.
      const u = apiKey();
      await vault.putUser('alice', 'byok', u);
      await vault.putUser('bob', 'byok', apiKey());
      const aliceEntry = (await store.getUserEntries('alice'))['c:byok']!;
      await store.setUserEntry('bob', 'c:byok', aliceEntry);
      await expectVaultError(() => vault.openUser('bob', 'byok'), VaultErrorCode.DecryptFailed, [u]);
      await store.setUserEntry('alice', 'c:other', aliceEntry);
      await expectVaultError(() => vault.openUser('alice', 'other'), VaultErrorCode.DecryptFailed, [u]);
      // Alice's data key copied to Bob does not open under Bob's id either.
      await store.setUserEntry('bob', 'kw.dek', (await store.getUserEntries('alice'))['kw.dek']!);
      await expectVaultError(() => vault.openUser('bob', 'byok'), VaultErrorCode.DecryptFailed, [u]);
      // The original still opens.
      assert.equal((await vault.openSession(await reload(store, a), 'openai'))!.reveal(), plain);
      assert.equal((await vault.openUser('alice', 'byok'))!.reveal(), u);
    });

    it('tampered, truncated, wrong-key-id, unknown-key-id and malformed entries -> VaultError with a stable code and no plaintext', async () => {
      const { store } = fresh('tamper');
      const k1 = kek();
      const k2 = kek();
      const vault = new Vault(ring(['k1', k1]), store);
      const s = await newSession(store);
      const plain = apiKey();
      await vault.putSession(s, 'openai', plain);
      const good = await reload(store, s);
      const cred = good.data['kw.c:openai']!;
      const dek = good.data['kw.dek']!;
      assert.match(dek, /^v2\.[A-Za-z0-9_-]{22}\.k1\./);
      const secrets = [plain];
      const tryWith = async (fields: Record<string, string>, code: string | string[], v = vault) => {
        assert.ok(await store.patch(s.key, { 'kw.c:openai': cred, 'kw.dek': dek, ...fields }, []));
        return expectVaultError(async () => v.openSession(await reload(store, s), 'openai'), code, secrets);
      };
      const flip = (str: string, i: number) => str.slice(0, i) + (str[i] === 'A' ? 'B' : 'A') + str.slice(i + 1);
      await tryWith({ 'kw.c:openai': flip(cred, 20) }, VaultErrorCode.DecryptFailed);
      await tryWith({ 'kw.c:openai': cred.slice(0, cred.lastIndexOf('.') + 5) }, VaultErrorCode.Malformed);
      await tryWith({ 'kw.c:openai': cred.slice(0, 30) }, [VaultErrorCode.Malformed, VaultErrorCode.DecryptFailed]);
      await tryWith({ 'kw.c:openai': '' }, VaultErrorCode.Malformed);
      await tryWith({ 'kw.c:openai': 'garbage' }, VaultErrorCode.Malformed);
      await tryWith({ 'kw.dek': flip(dek, dek.length - 30) }, VaultErrorCode.DecryptFailed);
      await tryWith({ 'kw.dek': dek.slice(0, -10) }, [VaultErrorCode.Malformed, VaultErrorCode.DecryptFailed]);
      await tryWith({ 'kw.dek': 'v2.short.k1.a.b.c' }, VaultErrorCode.Malformed);
      await tryWith({ 'kw.dek': 'v3' + dek.slice(2) }, VaultErrorCode.Malformed);
      // The unbound session format of earlier versions is refused, never opened.
      await tryWith({ 'kw.dek': 'v1' + dek.slice(2) }, VaultErrorCode.LegacyEntry);
      await tryWith({ 'kw.dek': '{"json":true}' }, VaultErrorCode.Malformed);
      // Wrong key id: the entry says k2 (which the ring has) but was wrapped with k1.
      await tryWith({ 'kw.dek': dek.replace('.k1.', '.k2.') }, VaultErrorCode.DecryptFailed, new Vault(ring(['k2', k2], ['k1', k1]), store));
      // Unknown key id: the ring no longer lists k1.
      await tryWith({}, VaultErrorCode.UnknownKeyId, new Vault(ring(['k2', k2]), store));
      // Hostile user entries.
      await vault.putUser('carol', 'byok', plain);
      const entry = (await store.getUserEntries('carol'))['c:byok']!;
      for (const value of ['not json', '{}', '{"c":1,"m":"x"}', 'null', '[]', JSON.stringify({ c: 'a.b.c', m: '••••' })]) {
        await store.setUserEntry('carol', 'c:byok', { value, updatedAt: Date.now() });
        await expectVaultError(() => vault.openUser('carol', 'byok'), [VaultErrorCode.Malformed, VaultErrorCode.DecryptFailed], secrets);
      }
      await store.setUserEntry('carol', 'c:byok', entry);
      assert.equal((await vault.openUser('carol', 'byok'))!.reveal(), plain);
    });

    it('20 concurrent writes to a new session create one data key and lose nothing', async () => {
      const { store } = fresh('concurrent');
      const vault = new Vault(ring(['k1', kek()]), store);
      const s = await newSession(store);
      const values = Array.from({ length: 20 }, (_, i) => apiKey(`c${i}`));
      await Promise.all(values.map((v, i) => vault.putSession({ ...s, data: {} }, `n${i}`, v)));
      const after = await reload(store, s);
      for (let i = 0; i < values.length; i++) assert.equal((await vault.openSession(after, `n${i}`))!.reveal(), values[i]);
      const users = Array.from({ length: 20 }, (_, i) => apiKey(`u${i}`));
      await Promise.all(users.map((v, i) => vault.putUser('dave', `n${i}`, v)));
      for (let i = 0; i < users.length; i++) assert.equal((await vault.openUser('dave', `n${i}`))!.reveal(), users[i]);
      assert.equal((await vault.listUser('dave')).length, 20);
    });

    it('KEK rotation: [k2,k1] opens k1 entries and re-wraps them lazily on read; rewrapAll reports counts; then [k2] alone opens everything', async () => {
      const { store } = fresh('rotate');
      const k1 = kek();
      const k2 = kek();
      const v1 = new Vault(ring(['k1', k1]), store);
      const sessions: Array<{ record: StoredSession; key: string }> = [];
      for (let i = 0; i < 5; i++) {
        const record = await newSession(store);
        const key = apiKey(`s${i}`);
        await v1.putSession(record, 'openai', key);
        sessions.push({ record, key });
      }
      const emptySession = await newSession(store); // no vault entry: nothing to re-wrap
      void emptySession;
      const users = ['u1', 'u2', 'u3'].map((u) => ({ user: `${u}-${seq}`, key: apiKey(u) }));
      for (const u of users) await v1.putUser(u.user, 'byok', u.key);

      const v2 = new Vault(ring(['k2', k2], ['k1', k1]), store);
      // Lazy: reading session 0 and user 0 re-wraps their data keys with k2.
      const s0 = await reload(store, sessions[0]!.record);
      assert.equal((await v2.openSession(s0, 'openai'))!.reveal(), sessions[0]!.key);
      const vid0 = /^v2\.([A-Za-z0-9_-]{22})\./.exec(s0.data['kw.dek']!)![1];
      const stored0 = (await reload(store, sessions[0]!.record)).data['kw.dek']!;
      assert.ok(stored0.startsWith(`v2.${vid0}.k2.`), `stored value now starts with v2.<vid>.k2. (got ${stored0.slice(0, 30)})`);
      assert.equal((await v2.openUser(users[0]!.user, 'byok'))!.reveal(), users[0]!.key);
      assert.match((await store.getUserEntries(users[0]!.user))['kw.dek']!.value, /^v1\.[A-Za-z0-9_-]{22}\.k2\./);
      // The sealed credentials themselves did not change (only the data key was re-wrapped).
      assert.equal((await reload(store, sessions[0]!.record)).data['kw.c:openai'], s0.data['kw.c:openai']);

      const report = await v2.rewrapAll();
      console.log(`# ${kind}: rewrapAll ${JSON.stringify(report)}`);
      assert.ok(report.sessionsScanned >= 6, JSON.stringify(report));
      assert.ok(report.usersScanned >= 3, JSON.stringify(report));
      assert.equal(report.rewrapped, 4 + 2, 'the 4 sessions and 2 users not yet read');
      assert.equal(report.failed, 0);
      const again = await v2.rewrapAll();
      assert.equal(again.rewrapped, 0, 'nothing left to re-wrap');

      const only2 = new Vault(ring(['k2', k2]), store);
      for (const { record, key } of sessions) assert.equal((await only2.openSession(await reload(store, record), 'openai'))!.reveal(), key);
      for (const { user, key } of users) assert.equal((await only2.openUser(user, 'byok'))!.reveal(), key);
      // And without k2, nothing opens: the old key really is out of the picture.
      await expectVaultError(async () => new Vault(ring(['k1', k1]), store).openSession(await reload(store, sessions[1]!.record), 'openai'), VaultErrorCode.UnknownKeyId, [sessions[1]!.key]);
    });

    it('rewrapAll counts entries it cannot open as failed and carries on', async () => {
      const { store } = fresh('rewrap-fail');
      const k1 = kek();
      const k2 = kek();
      const v1 = new Vault(ring(['k1', k1]), store);
      const good = await newSession(store);
      await v1.putSession(good, 'x', apiKey());
      const bad = await newSession(store);
      await v1.putSession(bad, 'x', apiKey());
      await store.patch(bad.key, { 'kw.dek': 'v1.AAAAAAAAAAAAAAAAAAAAAA.k1.garbage' }, []);
      const report = await new Vault(ring(['k2', k2], ['k1', k1]), store).rewrapAll();
      assert.equal(report.rewrapped, 1);
      assert.equal(report.failed, 1);
    });
  });
}

// ---------------------------------------------------------------------------------------
// Raw store bytes never contain a plaintext key
// ---------------------------------------------------------------------------------------

describe('raw store bytes never contain a plaintext key (raw, base64, base64url, hex, URL-encoded)', () => {
  async function fill(store: SessionStore): Promise<string[]> {
    const vault = new Vault(ring(['k1', kek()]), store);
    const secrets: string[] = [];
    for (let i = 0; i < 10; i++) {
      const s = await newSession(store, `raw-user-${i % 4}`);
      for (const name of ['openai', 'mk.demo-session', 'maps']) {
        // Values in a key's shape (issue 23.1: a session value holding JSON is refused).
        const key = apiKey(name.startsWith('mk.') ? 'dk' : name);
        secrets.push(key);
        await vault.putSession(s, name, key);
        assert.ok((await vault.openSession(await reload(store, s), name))!.reveal() === key);
      }
    }
    for (let u = 0; u < 4; u++) {
      for (const name of ['byok', 'byok-2']) {
        const key = apiKey('byok');
        secrets.push(key);
        await vault.putUser(`raw-user-${u}`, name, key);
        assert.equal((await vault.openUser(`raw-user-${u}`, name))!.reveal(), key);
      }
    }
    return secrets;
  }

  it('Redis: every key (DUMP and its logical value) and every command Redis received (MONITOR)', async () => {
    const prefix = 'raw:';
    const store = new RedisStore({ url: redis.url, prefix });
    const inspector = new Redis(redis.url);
    const monitorBase = new Redis(redis.url);
    const monitor = await monitorBase.monitor();
    const commands: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => commands.push(args.join(' ')));
    try {
      const secrets = await fill(store);
      await new Promise((r) => setTimeout(r, 100));
      const keys = await inspector.keys('*');
      assert.ok(keys.some((k) => k.startsWith(`${prefix}s:`)) && keys.some((k) => k.startsWith(`${prefix}ue:`)), keys.join(', '));
      let bytes = 0;
      const blobs: Buffer[] = [];
      for (const key of keys) {
        const dump = await inspector.dumpBuffer(key);
        if (dump) blobs.push(dump);
        const type = await inspector.type(key);
        const logical =
          type === 'hash' ? JSON.stringify(await inspector.hgetall(key))
          : type === 'set' ? JSON.stringify(await inspector.smembers(key))
          : type === 'zset' ? JSON.stringify(await inspector.zrange(key, '0', '-1', 'WITHSCORES'))
          : type === 'string' ? String(await inspector.get(key))
          : type === 'list' ? JSON.stringify(await inspector.lrange(key, 0, -1))
          : '';
        blobs.push(Buffer.from(key), Buffer.from(logical));
      }
      const all = Buffer.concat(blobs);
      bytes = all.length;
      const hits = findSecrets(all, secrets);
      const commandText = commands.join('\n');
      const commandHits = findSecrets(commandText, secrets);
      console.log(`# redis: ${secrets.length} plaintext keys searched in ${keys.length} Redis keys (${bytes} bytes of DUMP + values) and ${commands.length} monitored commands (${commandText.length} bytes): ${hits.length + commandHits.length} hits`);
      assert.deepEqual(hits, [], 'a plaintext key is stored in Redis');
      assert.deepEqual(commandHits, [], 'a plaintext key was sent to Redis');
      assert.ok(commands.length > 50, 'the monitor saw the traffic');
    } finally {
      monitor.disconnect();
      monitorBase.disconnect();
      inspector.disconnect();
      await store.close();
    }
  });

  it('SQLite: the database file, its -wal and -shm files, byte for byte', async () => {
    const file = join(tmp, 'raw-bytes.sqlite');
    const store = new SqliteStore({ file });
    let secrets: string[] = [];
    try {
      secrets = await fill(store);
      const files = [file, `${file}-wal`, `${file}-shm`].filter((f) => existsSync(f));
      const blobs = files.map((f) => readFileSync(f));
      const bytes = blobs.reduce((n, b) => n + b.length, 0);
      const all = Buffer.concat(blobs);
      // Sanity: the scan sees what the store wrote (sealed values are there, in the clear as base64url).
      assert.ok(all.includes(Buffer.from('kw.dek')), 'the scan reads the stored entries');
      const hits = findSecrets(all, secrets);
      console.log(`# sqlite: ${secrets.length} plaintext keys searched in ${files.length} files (${bytes} bytes): ${hits.length} hits`);
      assert.deepEqual(hits, []);
    } finally {
      await store.close();
    }
    // After close (the WAL is checkpointed into the main file), again.
    const closed = Buffer.concat([file, `${file}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f)));
    assert.ok(closed.includes(Buffer.from('kw.dek')));
    assert.deepEqual(findSecrets(closed, secrets), []);
  });
});
