import type { RedisConnection, RedisScript } from './redis-client.js';
import type { CounterHit, CounterVerdict } from './session-store.interface.js';

/**
 * KEYS: the counters (hashes `c` hits, `r` window end), all of one group, so one hash slot;
 * ARGV[1]=now, then max and windowMs per key. The decision of `counter-window.ts`, in one
 * script: if every counter has room each counts the hit, else none does. Returns {1}, or
 * {0, index (1-based) of the full counter that frees up last, ms until then}. A new window
 * also gets a Redis expiry of its length, so counters of subjects that never return go away.
 */
const HIT_COUNTERS = `
local now = tonumber(ARGV[1])
local hits, resets, fresh = {}, {}, {}
local refused, wait = 0, -1
for i = 1, #KEYS do
  local max, win = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local v = redis.call('HMGET', KEYS[i], 'c', 'r')
  local c, r = tonumber(v[1]), tonumber(v[2])
  if not c or not r or r <= now then
    c, r, fresh[i] = 0, now + win, true
  end
  hits[i], resets[i] = c, r
  if c >= max and r - now > wait then
    refused, wait = i, r - now
  end
end
if refused > 0 then return {0, refused, string.format('%.0f', wait)} end
for i = 1, #KEYS do
  redis.call('HSET', KEYS[i], 'c', hits[i] + 1, 'r', string.format('%.0f', resets[i]))
  if fresh[i] then redis.call('PEXPIRE', KEYS[i], string.format('%.0f', resets[i] - now)) end
end
return {1}
`;

/** Most counters one call counts (8 limits over all services + 8 of its service). */
export const MAX_COUNTERS = 16;

/**
 * The script once per number of counters, each with a fixed key count, registered with the
 * store's other scripts: on a Cluster, ioredis' auto-pipelining then routes it by its first
 * key (with a variable key count it would route by the count, and fail).
 */
export const HIT_COUNTERS_SCRIPTS: readonly RedisScript[] = Array.from({ length: MAX_COUNTERS }, (_, i) => ({ name: `kwHitCounters${i + 1}`, lua: HIT_COUNTERS, keys: i + 1 }));

/**
 * {@link SessionStore.hitCounters} on Redis: one script, one round trip. Keys are
 * `<prefix>rl:{<group>}:<name>`: the group is the hash tag, so every counter of one call
 * lives in one slot of a Redis Cluster (a group is one subject: a user or a session).
 */
export async function hitRedisCounters(conn: RedisConnection, prefix: string, group: string, counters: readonly CounterHit[], now: number): Promise<CounterVerdict> {
  const keys = counters.map((c) => `${prefix}rl:{${group}}:${c.name}`);
  const args = [now, ...counters.flatMap((c) => [c.max, c.windowMs])];
  const script = HIT_COUNTERS_SCRIPTS[keys.length - 1];
  if (!script) throw new RangeError(`hitCounters: 1 to ${MAX_COUNTERS} counters per call, got ${keys.length}.`);
  const reply = (await conn.scriptKeys(script, keys, args)) as unknown[] | null;
  if (Array.isArray(reply) && Number(reply[0]) === 1) return { allowed: true };
  const refusedBy = Array.isArray(reply) ? Number(reply[1]) - 1 : NaN;
  const retryAfterMs = Array.isArray(reply) ? Number(reply[2]) : NaN;
  // Anything else than the script's two answers is never a pass (the store answers 503).
  if (Number(reply?.[0]) !== 0 || !(refusedBy >= 0 && refusedBy < counters.length) || !(retryAfterMs >= 0)) throw new Error('unexpected reply to the counter script');
  return { allowed: false, refusedBy, retryAfterMs };
}
