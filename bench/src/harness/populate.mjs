// Pre-populating a store with many sessions, fast, in Keyward's exact record format, so the
// app reads them as real sessions (issue 18). The format mirrors packages/nest/src:
//   session-id.ts   cookie `<id>.<HMAC-SHA256(secret, 'keyward-session-v1.' + id), base64url>`,
//                   store key = SHA-256(id) base64url, handle = SHA-256('handle.' + key) base64url [0, 22)
//   redis.store.ts  hash `kw:s:{<key>}` u h c l ie ae v d:<name> (PEXPIREAT expiry + sweep grace),
//                   `kw:u:{<user>}` set of keys, `kw:exp` sorted set key -> expiry
//   sqlite.store.ts kw_sessions (key, handle, user_id, created_at, last_seen_at, idle_expires_at,
//                   absolute_expires_at, version) + kw_session_data (key, name, value); the schema
//                   itself is created by the store's own constructor.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../../packages/nest/package.json', import.meta.url));

const GRACE_MS = 3_600_000; // RedisStore's default sweepGraceMs
const USER_FIELD = 'kw.user';

/** The `sid=<value>` cookie of a session ID, signed with `secret`. */
export function cookieOf(secret, id) {
  const sig = createHmac('sha256', Buffer.from(secret, 'utf8')).update('keyward-session-v1.').update(id).digest('base64url');
  return `sid=${id}.${sig}`;
}

const storeKeyOf = (id) => createHash('sha256').update(id).digest('base64url');
const handleOf = (key) => createHash('sha256').update('handle.').update(key).digest('base64url').slice(0, 22);

/** Random 43-character session IDs, drawn in blocks (the bench needs many, fast). */
function* sessionIds(count) {
  const block = 2048;
  for (let done = 0; done < count; ) {
    const buf = randomBytes(32 * block);
    for (let j = 0; j < block && done < count; j++, done++) yield buf.subarray(j * 32, j * 32 + 32).toString('base64url');
  }
}

/**
 * Yields `count` session records. `userOf(i)` names each one's user; `expired` makes them
 * expired a minute ago (for the sweep), else they stay valid for hours. Indices listed in
 * `sample` (a Set) also get their cookie, so the load can use them.
 */
export function* sessions(count, { userOf, now = Date.now(), expired = false, sample, secret }) {
  let i = 0;
  for (const id of sessionIds(count)) {
    const key = storeKeyOf(id);
    const userId = userOf(i);
    const ie = expired ? now - 60_000 : now + 4 * 3_600_000;
    const ae = expired ? now + 3_600_000 : now + 12 * 3_600_000;
    yield {
      i,
      key,
      handle: handleOf(key),
      userId,
      createdAt: now - 1000,
      lastSeenAt: expired ? now - 2 * 3_600_000 : now,
      idleExpiresAt: ie,
      absoluteExpiresAt: ae,
      version: 1,
      user: JSON.stringify({ id: userId, name: 'Bench User' }),
      cookie: sample?.has(i) ? cookieOf(secret, id) : undefined,
    };
    i++;
  }
}

/** `k` indices spread evenly over [0, n). */
export function spread(n, k) {
  const out = new Set();
  for (let j = 0; j < Math.min(n, k); j++) out.add(Math.floor((j * n) / Math.min(n, k)));
  return out;
}

/** Writes sessions into Redis (ioredis client on the right db), pipelined. Returns the sample's cookies and keys. */
export async function populateRedis(client, records, { prefix = 'kw:', batch = 2000 } = {}) {
  const cookies = [];
  const keys = [];
  let pipe = client.pipeline();
  let n = 0;
  const inflight = [];
  for (const s of records) {
    const rk = `${prefix}s:{${s.key}}`;
    const expiry = Math.min(s.idleExpiresAt, s.absoluteExpiresAt);
    pipe.hset(rk, 'u', s.userId, 'h', s.handle, 'c', String(s.createdAt), 'l', String(s.lastSeenAt), 'ie', String(s.idleExpiresAt), 'ae', String(s.absoluteExpiresAt), 'v', String(s.version), `d:${USER_FIELD}`, s.user);
    pipe.pexpireat(rk, expiry + GRACE_MS);
    pipe.sadd(`${prefix}u:{${s.userId}}`, s.key);
    pipe.zadd(`${prefix}exp`, expiry, s.key);
    if (s.cookie) cookies.push(s.cookie);
    if (keys.length < 500 || s.cookie) keys.push({ key: s.key, userId: s.userId, handle: s.handle });
    if (++n % batch === 0) {
      inflight.push(pipe.exec());
      pipe = client.pipeline();
      if (inflight.length >= 4) await inflight.shift();
    }
  }
  inflight.push(pipe.exec());
  for (const r of await Promise.all(inflight)) for (const [err] of r ?? []) if (err) throw err;
  return { cookies, keys };
}

/** Creates (with the store's own schema) or extends a SQLite session file. */
export async function populateSqlite(file, records, SqliteStore) {
  const store = new SqliteStore({ file }); // creates the schema exactly as the app will
  await store.close();
  const Database = require('better-sqlite3');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF'); // loading only; the app opens it with synchronous=FULL
  const ins = db.prepare('INSERT INTO kw_sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const data = db.prepare('INSERT INTO kw_session_data (key, name, value) VALUES (?, ?, ?)');
  const cookies = [];
  const keys = [];
  let rows = [];
  const flush = db.transaction((list) => {
    for (const s of list) {
      ins.run(s.key, s.handle, s.userId, s.createdAt, s.lastSeenAt, s.idleExpiresAt, s.absoluteExpiresAt, s.version);
      data.run(s.key, USER_FIELD, s.user);
    }
  });
  for (const s of records) {
    if (s.cookie) cookies.push(s.cookie);
    if (keys.length < 500 || s.cookie) keys.push({ key: s.key, userId: s.userId, handle: s.handle });
    rows.push(s);
    if (rows.length === 10_000) {
      flush(rows);
      rows = [];
    }
  }
  flush(rows);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return { cookies, keys };
}
