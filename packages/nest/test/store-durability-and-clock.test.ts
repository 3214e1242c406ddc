/**
 * Issue 18 follow-ups on the embedded stores:
 * - SqliteStore: which commits wait for the disk. A commit that ends or rotates a session
 *   must survive a power loss (`synchronous=FULL`); a touch and the removal of records that
 *   already expired may skip the fsync (`NORMAL`), which made every touch and every sweep
 *   batch hold the event loop. Observed through the connection's own setting right after
 *   each call (SQLite refuses to change it inside a transaction, so the setting seen after a
 *   call is the one its commit ran with).
 * - SqliteStore options: page cache and memory map sizes, validated once with helpful errors.
 * - Rotated-out IDs' tombstones expire by the engine's clock (the `now` the engine passes),
 *   not by Date.now: a test that moves the clock past `keepUntil` sees them gone, and the
 *   sweep (expiredKeys) purges them in the memory store as in SQLite.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type BetterSqlite3 from 'better-sqlite3';
import { SqliteCheckpointer } from '../src/stores/sqlite-checkpointer.js';
import { KeywardConfigError, MemoryStore, SqliteStore, type SessionLink, type SessionStore, type StoredSession, type TouchPolicy } from '../src/index.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const tmp = mkdtempSync(join(tmpdir(), 'kw-durability-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function record(over: Partial<StoredSession> = {}): StoredSession {
  const t0 = Date.now();
  const key = randomBytes(32).toString('base64url');
  return {
    key,
    handle: key.slice(0, 22),
    userId: `u-${randomBytes(4).toString('hex')}`,
    createdAt: t0,
    lastSeenAt: t0,
    idleExpiresAt: t0 + 30 * MIN,
    absoluteExpiresAt: t0 + 12 * HOUR,
    version: 1,
    data: { 'kw.user': '{"id":"x"}' },
    ...over,
  };
}

const noTouch = (now: number): TouchPolicy => ({ now, touchAfterMs: Number.MAX_SAFE_INTEGER, idleMs: 30 * MIN });
const sqliteFile = (): string => join(tmp, `${randomBytes(4).toString('hex')}.sqlite`);

/** The connection inside a SqliteStore (private), to read what its last commit ran with. */
function dbOf(store: SqliteStore): BetterSqlite3.Database {
  return (store as unknown as { db: BetterSqlite3.Database }).db;
}
const FULL = 2;
const NORMAL = 1;
const syncOf = (store: SqliteStore): number => dbOf(store).pragma('synchronous', { simple: true }) as number;

describe('SqliteStore: a commit that ends or rotates a session waits for the disk, a touch does not', () => {
  it('touch, leases and the sweep of expired records run NORMAL; create, end, rotate, trim, patch, user entries and a take of a live record run FULL', async () => {
    const store = new SqliteStore({ file: sqliteFile() });
    try {
      const live = record();
      await store.create(live);
      assert.equal(syncOf(store), FULL, 'create');

      const later = live.lastSeenAt + 2 * MIN;
      const touched = await store.load(live.key, { now: later, touchAfterMs: MIN, idleMs: 30 * MIN });
      assert.equal(touched?.lastSeenAt, later, 'the touch was written');
      assert.equal(syncOf(store), NORMAL, 'a touch only moves the idle deadline later: losing it fails safe');

      await store.patch(live.key, { theme: '"dark"' }, []);
      assert.equal(syncOf(store), FULL, 'patch');

      const successor = record({ userId: live.userId });
      const link: SessionLink = { key: successor.key, sealedId: 'sealed', rotatedAt: later, graceUntil: later + MIN, keepUntil: live.absoluteExpiresAt };
      await store.load(live.key, { now: later + 2 * MIN, touchAfterMs: MIN, idleMs: 30 * MIN });
      assert.equal(syncOf(store), NORMAL);
      const current = await store.load(live.key, noTouch(later + 2 * MIN));
      assert.deepEqual(await store.rotate({ key: live.key, version: current!.version }, successor, link), { state: 'rotated' });
      assert.equal(syncOf(store), FULL, 'a rotation');

      // The sweeper's batch of expired records: NORMAL.
      const expired = [record({ idleExpiresAt: Date.now() - 1000 }), record({ absoluteExpiresAt: Date.now() - 1000 })];
      for (const r of expired) await store.create(r);
      assert.deepEqual((await store.takeMany!(expired.map((r) => r.key))).map((r) => r?.key), expired.map((r) => r.key));
      assert.equal(syncOf(store), NORMAL, 'removing records that already expired');

      // Tombstones alone (a session's end takes its rotated-out IDs): NORMAL, whatever their
      // deadline, since one brought back leads nowhere.
      const rotatedOut = record();
      await store.create(rotatedOut);
      const heir = record({ userId: rotatedOut.userId });
      const heirLink: SessionLink = { key: heir.key, sealedId: 'sealed', rotatedAt: Date.now(), graceUntil: Date.now() + MIN, keepUntil: rotatedOut.absoluteExpiresAt };
      assert.deepEqual(await store.rotate({ key: rotatedOut.key, version: rotatedOut.version }, heir, heirLink), { state: 'rotated' });
      assert.equal(syncOf(store), FULL, 'a rotation');
      assert.equal((await store.takeMany!([rotatedOut.key]))[0]?.movedTo?.key, heir.key);
      assert.equal(syncOf(store), NORMAL, 'removing a tombstone');

      // A batch holding a live record is an end that must last: FULL.
      const mixed = [record({ idleExpiresAt: Date.now() - 1000 }), record()];
      for (const r of mixed) await store.create(r);
      await store.load(mixed[1]!.key, { now: Date.now() + 2 * MIN, touchAfterMs: MIN, idleMs: 30 * MIN });
      assert.equal(syncOf(store), NORMAL);
      const taken = await store.takeMany!(mixed.map((r) => r.key));
      assert.deepEqual(taken.map((r) => r?.key), mixed.map((r) => r.key), 'both taken, once, after the retry');
      assert.equal(syncOf(store), FULL, 'a batch with a live record');
      assert.deepEqual(await store.takeMany!(mixed.map((r) => r.key)), [null, null], 'the rolled-back first try left nothing behind');

      await store.load(successor.key, { now: Date.now() + 4 * MIN, touchAfterMs: MIN, idleMs: 30 * MIN });
      assert.equal(syncOf(store), NORMAL);
      assert.equal((await store.take(successor.key))?.key, successor.key);
      assert.equal(syncOf(store), FULL, 'take (logout, revoke)');

      const mine = [record({ userId: 'cap' }), record({ userId: 'cap' }), record({ userId: 'cap' })];
      for (const r of mine) await store.create(r);
      await store.load(mine[0]!.key, { now: Date.now() + 2 * MIN, touchAfterMs: MIN, idleMs: 30 * MIN });
      assert.equal(syncOf(store), NORMAL);
      assert.equal((await store.trimUser!('cap', 2, mine[2]!.key, Date.now())).length, 1);
      assert.equal(syncOf(store), FULL, 'the per-user cap');

      // A user entry (a bring-your-own key) right after a NORMAL commit: still FULL, not
      // whatever level the last transaction left.
      assert.equal(await store.acquireLease('sweep', 'me', 60_000), true);
      assert.equal(syncOf(store), NORMAL, 'a lease');
      await store.setUserEntry('cap', 'byok', { value: 'sealed', updatedAt: 1 });
      assert.equal(syncOf(store), FULL, 'a user entry');
      await store.releaseLease!('sweep');
      assert.equal(syncOf(store), NORMAL);
      assert.equal(await store.deleteUserEntry('cap', 'byok'), true);
      assert.equal(syncOf(store), FULL, 'deleting a user entry');
    } finally {
      await store.close();
    }
  });
});

describe('SqliteStore: WAL checkpoints run on a thread of their own', () => {
  it("committed sessions reach the database file before the app's own autocheckpoint would copy them", async () => {
    const file = sqliteFile();
    const store = new SqliteStore({ file });
    try {
      // 20 sessions are far fewer WAL pages than the 4,000 at which the app's connection checkpoints.
      const records = Array.from({ length: 20 }, () => record());
      for (const r of records) await store.create(r);
      // The database file alone (without its -wal) holds only what a checkpoint copied there.
      // A copy taken while the thread writes may be torn: that read counts as nothing yet.
      const inMainFile = (): number => {
        const copy = sqliteFile();
        copyFileSync(file, copy);
        try {
          const db = new Database(copy, { readonly: true });
          try {
            if (!db.prepare(`SELECT 1 FROM sqlite_master WHERE name = 'kw_sessions'`).get()) return 0; // not even the schema yet
            return (db.prepare('SELECT count(*) AS n FROM kw_sessions').get() as { n: number }).n;
          } finally {
            db.close();
          }
        } catch {
          return 0;
        }
      };
      let n = inMainFile();
      for (let i = 0; i < 800 && n < records.length; i++) {
        await new Promise((r) => setTimeout(r, 25));
        n = inMainFile();
      }
      assert.equal(n, records.length, 'the checkpoint thread copied every committed session into the file');
    } finally {
      await store.close();
    }
    const reopened = new SqliteStore({ file });
    try {
      assert.equal((await reopened.listByUser(record().userId)).length, 0);
      assert.ok(await reopened.ping() === undefined);
    } finally {
      await reopened.close();
    }
  });
});

describe('SqliteCheckpointer', () => {
  it('never creates a database whose file was removed before its thread opened it', async () => {
    // A test's after-hook removed a temporary folder while the thread, starting, created
    // the file again in it (ENOTEMPTY).
    const dir = mkdtempSync(join(tmpdir(), 'kw-ckpt-gone-'));
    const file = join(dir, 'gone.sqlite');
    const store = new SqliteStore({ file });
    for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(existsSync(file), false, 'the thread created the removed file again');
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('closes even when its thread has already failed (a driver that cannot load)', { timeout: 10_000 }, async () => {
    const file = sqliteFile();
    const seed = new SqliteStore({ file });
    await seed.close();
    const cp = new SqliteCheckpointer(file, join(tmp, 'no-such-driver.js'));
    await new Promise((r) => setTimeout(r, 300)); // the thread fails at its first line
    await cp.close(); // resolves: no wait for an exit that already happened
    await cp.close();
  });
});

describe('SqliteStore: the WAL stays bounded under a steady stream of commits', () => {
  it('8,000 touches in a row leave a WAL bounded by the autocheckpoint, not one that only grows', async () => {
    const file = sqliteFile();
    const store = new SqliteStore({ file });
    try {
      const r = record({ absoluteExpiresAt: Date.now() + 100 * HOUR });
      await store.create(r);
      // Each touch is a commit (NORMAL) rewriting the same few pages; the WAL starts over
      // only when a writer finds every page copied back (a checkpoint in its own commit).
      let now = r.lastSeenAt;
      for (let i = 0; i < 8000; i++) await store.load(r.key, { now: ++now, touchAfterMs: 0, idleMs: 30 * MIN });
      assert.equal((await store.load(r.key, noTouch(now)))?.lastSeenAt, now);
      const wal = statSync(`${file}-wal`).size;
      // About 24,000 pages were appended; the app's connection checkpoints at 4,000 (16 MiB).
      assert.ok(wal < 40 * 1024 * 1024, `the WAL holds ${(wal / 1048576).toFixed(1)} MiB after 8,000 commits`);
    } finally {
      await store.close();
    }
  });
});

describe('SqliteStore options: page cache and memory map', () => {
  it('applies cacheSizeBytes and mmapSizeBytes, with defaults of 64 MiB and 0 (no map)', async () => {
    const a = new SqliteStore({ file: sqliteFile() });
    const b = new SqliteStore({ file: sqliteFile(), cacheSizeBytes: 8 * 1024 * 1024, mmapSizeBytes: 256 * 1024 * 1024 });
    try {
      assert.equal(dbOf(a).pragma('cache_size', { simple: true }), -64 * 1024, 'in KiB');
      assert.equal(dbOf(a).pragma('mmap_size', { simple: true }), 0);
      assert.equal(dbOf(b).pragma('cache_size', { simple: true }), -8 * 1024);
      assert.equal(dbOf(b).pragma('mmap_size', { simple: true }), 256 * 1024 * 1024);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('reports every bad option at once, each with its value and the fix', () => {
    const bad = { file: sqliteFile(), cacheSizeBytes: 64, mmapSizeBytes: Number.NaN, cacheSize: 1 } as never;
    assert.throws(
      () => new SqliteStore(bad),
      (e: unknown) => {
        assert.ok(e instanceof KeywardConfigError && e instanceof TypeError);
        assert.equal(e.problems.length, 3, e.message);
        assert.match(e.message, /`cacheSizeBytes`: 64 is not a whole number of bytes between 1048576 and .*64 MiB is 67108864/);
        assert.match(e.message, /`mmapSizeBytes`: NaN is not a whole number of bytes/);
        assert.match(e.message, /unknown option `cacheSize`\. Did you mean `cacheSizeBytes`\?/);
        return true;
      },
    );
    for (const v of [-1, 1.5, Infinity, '1000000', 2 ** 60, null]) {
      assert.throws(() => new SqliteStore({ file: sqliteFile(), mmapSizeBytes: v as never }), KeywardConfigError, `mmapSizeBytes ${String(v)}`);
    }
    assert.throws(() => new SqliteStore(undefined as never), /needs an options object with `file`/);
  });
});

/** The stores that keep rotated-out IDs' tombstones themselves (Redis expires them by its own clock). */
const stores: Array<[string, () => SessionStore]> = [
  ['memory', () => new MemoryStore()],
  ['sqlite', () => new SqliteStore({ file: sqliteFile() })],
];

for (const [name, open] of stores) {
  describe(`${name}: tombstones expire by the engine's clock`, () => {
    const t0 = Date.now();
    /** A rotated session whose old ID's tombstone is kept until `keepUntil` (hours of real time ahead: only a moved clock passes it). */
    async function rotated(store: SessionStore, keepUntil = t0 + HOUR): Promise<{ old: StoredSession; link: SessionLink }> {
      const old = record({ idleExpiresAt: t0 + 3 * HOUR });
      const next = record({ userId: old.userId, idleExpiresAt: t0 + 3 * HOUR });
      await store.create(old);
      const link: SessionLink = { key: next.key, sealedId: 'sealed', rotatedAt: t0, graceUntil: t0 + MIN, keepUntil };
      assert.deepEqual(await store.rotate!({ key: old.key, version: old.version }, next, link), { state: 'rotated' });
      return { old, link };
    }

    it('load judges keepUntil at the now it is given: before it the tombstone leads on, past it there is none', async () => {
      const store = open();
      try {
        const { old, link } = await rotated(store);
        assert.equal((await store.load(old.key, noTouch(link.keepUntil - 1)))?.movedTo?.key, link.key);
        assert.equal(await store.load(old.key, noTouch(link.keepUntil)), null, 'a clock moved past keepUntil sees no tombstone');
      } finally {
        await store.close();
      }
    });

    it('the sweep (expiredKeys) purges tombstones whose keepUntil passed by its now, and only those', async () => {
      const store = open();
      try {
        const gone = await rotated(store, t0 + HOUR);
        const kept = await rotated(store, t0 + 2 * HOUR);
        assert.deepEqual(await store.expiredKeys(t0 + HOUR, 100), [], 'no session expired');
        // Past keepUntil the tombstone was purged: take (which returns a tombstone of any age) finds nothing.
        assert.equal(await store.take(gone.old.key), null, 'purged by the sweep');
        assert.equal((await store.load(kept.old.key, noTouch(t0 + HOUR)))?.movedTo?.key, kept.link.key, 'one kept longer is still there');
        assert.equal((await store.take(kept.old.key))?.movedTo?.key, kept.link.key, 'and is taken whole');
      } finally {
        await store.close();
      }
    });
  });
}
