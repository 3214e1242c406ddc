import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MemoryStore, RedisStore, SessionEngine, SqliteStore, resolveKeywardOptions, type SessionStore } from '../src/index.js';
import { MAX_LEARNED_LEAD_MS } from '../src/session/store-clock.js';
import { FakeClock } from './support/fake-clock.js';
import { type RedisServer, redisSuite } from './support/redis-server.js';
import { secret } from './support/secrets.js';

// Issue 23, point 6: the clock lead an instance learns was taken from another instance's
// lastSeenAt even on Redis, where TIME is at hand, and was unbounded: one host an hour fast
// made a correct instance end every live session.
const MIN = 60_000;
const SECRET = secret();
const engineAt = (clock: FakeClock, store: SessionStore): SessionEngine =>
  new SessionEngine(resolveKeywardOptions({ session: { secrets: [SECRET], store, clock, sweepIntervalMs: 0, idleTimeoutMs: 30 * MIN } }).session);

let redis: RedisServer;
redisSuite('kw-clock-lead-', (server) => (redis = server));
const dir = mkdtempSync(join(tmpdir(), 'kw-clock-lead-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let seq = 0;

const stores: Array<[string, () => SessionStore[]]> = [
  ['memory (shared by two engines)', () => {
    const one = new MemoryStore();
    return [one, one];
  }],
  ['SQLite (one file, two connections)', () => {
    const file = join(dir, `s${++seq}.db`);
    return [new SqliteStore({ file }), new SqliteStore({ file })];
  }],
  ['Redis', () => [new RedisStore({ url: redis.url, prefix: `kw:lead${++seq}:` }), new RedisStore({ url: redis.url, prefix: `kw:lead${seq}:` })]],
];

for (const [name, open] of stores) {
  describe(`a host an hour fast does not end a correct instance's sessions (${name})`, () => {
    it('the correct instance keeps serving its users', async () => {
      const [sa, sb] = open();
      try {
        const real = Date.now();
        const correct = engineAt(new FakeClock(real), sa!);
        const fast = engineAt(new FakeClock(real + 60 * MIN), sb!);
        // A user logged in on the correct instance 20 minutes ago (idle timeout 30 minutes).
        const earlier = engineAt(new FakeClock(real - 20 * MIN), sa!);
        const alice = await earlier.create({ id: 'alice' });
        // The fast host serves another user: that record was last seen an hour "from now".
        const bob = await fast.create({ id: 'bob' });
        assert.equal((await correct.resolve(bob.signedValue)).state, 'active');
        // Before the fix the correct instance moved its clock an hour forward here and ended Alice's session.
        assert.equal((await correct.resolve(alice.signedValue)).state, 'active');
        assert.ok(correct.now() - real <= MAX_LEARNED_LEAD_MS + 1000, `learned ${correct.now() - real} ms`);
        if (name === 'Redis') assert.ok(Math.abs(correct.now() - Date.now()) < 2000 + 1000, 'on Redis only the store\'s clock is believed');
      } finally {
        await sa!.close();
        if (sb !== sa) await sb!.close();
      }
    });
  });
}

describe('Redis: a lagging instance learns the store\'s time before it judges a session, without a touch', () => {
  it('an idle-expired session is expired for an instance 25 minutes behind, on its first request', async () => {
    const prefix = `kw:lead${++seq}:`;
    const a = new RedisStore({ url: redis.url, prefix });
    const b = new RedisStore({ url: redis.url, prefix });
    try {
      const real = Date.now();
      const issued = await engineAt(new FakeClock(real - 40 * MIN), a).create({ id: 'idle' });
      const lagging = engineAt(new FakeClock(real - 25 * MIN), b);
      assert.equal((await lagging.resolve(issued.signedValue)).state, 'expired');
      assert.ok(lagging.now() - real > -5000, 'its clock now reads the store\'s time');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
