import type { RedisScript } from './redis-client.js';

// Lua scripts for the Redis store. Each touches one key, or keys of one hash slot (a user's
// set and sorted set), so every atomic step works unchanged on Redis Cluster; the
// exceptions, TAKE_MANY and DROP_TOMBSTONES, run only on a single Redis.

/**
 * KEYS[1]=record; ARGV: now, touchAfterMs, idleMs, graceMs. Returns HGETALL (after a due
 * touch) followed by '~t', the store's own clock in ms. Whether the record is still alive
 * is judged by the later of the caller's clock and Redis' clock, so an instance whose clock
 * lags can never revive (extend) a session that already expired.
 */
export const LOAD = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local snow = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local r = redis.call('HGETALL', KEYS[1])
if #r == 0 then return r end
local f = {}
for i = 1, #r, 2 do f[r[i]] = r[i + 1] end
local now, after, idle, grace = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local judge = math.max(now, snow)
local l, ie, ae = tonumber(f['l']), tonumber(f['ie']), tonumber(f['ae'])
if l and ie and ae and not f['n'] and l <= now - after and math.min(ie, ae) > judge then
  local nie = math.min(now + idle, ae)
  redis.call('HSET', KEYS[1], 'l', ARGV[1], 'ie', string.format('%.0f', nie))
  redis.call('HINCRBY', KEYS[1], 'v', 1)
  redis.call('PEXPIREAT', KEYS[1], string.format('%.0f', nie + grace))
  r = redis.call('HGETALL', KEYS[1])
end
r[#r + 1] = '~t'
r[#r + 1] = string.format('%.0f', snow)
return r
`;

/**
 * KEYS[1]=record; ARGV: setCount, k1, v1, ..., then names to delete. Returns 1, 0 if gone, or
 * the successor's key if the record moved to a new ID (the caller writes there instead).
 */
export const PATCH = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local moved = redis.call('HGET', KEYS[1], 'n')
if moved then return moved end
local n = tonumber(ARGV[1])
local i = 2
while i < 2 + n * 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  i = i + 2
end
while i <= #ARGV do
  redis.call('HDEL', KEYS[1], ARGV[i])
  i = i + 1
end
redis.call('HINCRBY', KEYS[1], 'v', 1)
return 1
`;

/** KEYS[1]=record. Returns HGETALL and deletes, atomically (exactly one caller gets it). */
export const TAKE = `
local r = redis.call('HGETALL', KEYS[1])
if #r > 0 then redis.call('DEL', KEYS[1]) end
return r
`;

/**
 * KEYS[1]=the expiry index, KEYS[2..]=records; ARGV[1]=key prefix, ARGV[2..]=the records'
 * store keys. {@link TAKE} of every record at once, with the index cleanup that `take` does
 * in a second round trip (the user's set and sessions by age, named from the record's user):
 * one command for a whole sweep batch. It names keys it does not declare (the users' sets),
 * so it runs only on a single Redis, never on a Cluster. Returns one HGETALL per record
 * (empty where it was gone).
 */
export const TAKE_MANY = `
local out = {}
for i = 2, #KEYS do
  local key = ARGV[i]
  local r = redis.call('HGETALL', KEYS[i])
  if #r > 0 then
    redis.call('DEL', KEYS[i])
    for j = 1, #r, 2 do
      if r[j] == 'u' then
        redis.call('SREM', ARGV[1] .. 'u:{' .. r[j + 1] .. '}', key)
        redis.call('ZREM', ARGV[1] .. 'uc:{' .. r[j + 1] .. '}', key)
        break
      end
    end
  end
  redis.call('ZREM', KEYS[1], key)
  out[#out + 1] = r
end
return out
`;

/** KEYS[1]=lease; ARGV: owner, ttlMs. Returns 1 if the owner holds the lease now. */
export const LEASE = `
local cur = redis.call('GET', KEYS[1])
if cur == false or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
`;

/**
 * KEYS[1]=record; ARGV: field, value. Sets the field if absent; returns its value, or false if
 * no record (a rotated-out ID's tombstone counts as none: what is set-if-absent, such as a
 * data key bound to this store key, would be wrong at the successor).
 */
export const SET_IF_ABSENT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if redis.call('HEXISTS', KEYS[1], 'n') == 1 then return false end
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then redis.call('HINCRBY', KEYS[1], 'v', 1) end
return redis.call('HGET', KEYS[1], ARGV[1])
`;

/**
 * KEYS[1]=old record; ARGV: expectedVersion, successorKey, sealedId, rotatedAt, graceUntil,
 * keepUntil. The one atomic step of an ID rotation: the first caller whose read is still
 * current records its successor on the old record (which keeps no data from then on);
 * every later caller gets that successor. Returns {'rotated'}, {'moved', key, sealedId,
 * rotatedAt, graceUntil, keepUntil}, {'stale'} or {'gone'}.
 */
export const ROTATE_CLAIM = `
local r = redis.call('HMGET', KEYS[1], 'n', 'ns', 'ra', 'g', 'k', 'v')
if r[1] then return {'moved', r[1], r[2], r[3], r[4], r[5]} end
if not r[6] then return {'gone'} end
if r[6] ~= ARGV[1] then return {'stale'} end
local fields = redis.call('HKEYS', KEYS[1])
for _, f in ipairs(fields) do
  if string.sub(f, 1, 2) == 'd:' then redis.call('HDEL', KEYS[1], f) end
end
redis.call('HSET', KEYS[1], 'n', ARGV[2], 'ns', ARGV[3], 'ra', ARGV[4], 'g', ARGV[5], 'k', ARGV[6])
redis.call('HINCRBY', KEYS[1], 'v', 1)
redis.call('PEXPIREAT', KEYS[1], ARGV[6])
return {'rotated'}
`;

/**
 * KEYS[1]=a user's sessions by creation time (sorted set); ARGV: max, keep, then the members
 * to end first (expired or gone, as the caller read them: an expired record never comes back
 * to life). Removes and returns members beyond \`max\`, never \`keep\`: those given first, then
 * the oldest. Concurrent logins each get a disjoint share, so together they never leave more
 * than \`max\`.
 */
export const TRIM_USER = `
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[1])
if excess <= 0 then return {} end
local out = {}
local function trim(m)
  if m ~= ARGV[2] and redis.call('ZREM', KEYS[1], m) == 1 then out[#out + 1] = m end
  return #out >= excess
end
for i = 3, #ARGV do
  if trim(ARGV[i]) then return out end
end
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if trim(m) then return out end
end
return out
`;

/**
 * KEYS[1]=a user's sessions (set), KEYS[2]=the user's sessions by creation time (one slot:
 * both are tagged with the user); ARGV: oldKey, newKey. A rotation's successor takes the old
 * member's place in both, and only where the old member still is (a session that ended
 * meanwhile is not brought back). Run by the rotation's winner, and by a listing that finds
 * a tombstone whose successor is not listed yet; twice does no harm.
 */
export const MOVE_MEMBER = `
if redis.call('SREM', KEYS[1], ARGV[1]) == 1 then redis.call('SADD', KEYS[1], ARGV[2]) end
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if score then
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('ZADD', KEYS[2], score, ARGV[2])
end
return 1
`;

/**
 * KEYS[1]=a session's rotated-out IDs (set, by its handle); ARGV: oldKey, keepUntil. Adds the
 * rotated-out ID's store key; the set lives as long as its longest-kept tombstone.
 */
export const ADD_TOMBSTONE = `
if redis.replicate_commands then redis.replicate_commands() end
redis.call('SADD', KEYS[1], ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 or now + ttl < tonumber(ARGV[2]) then redis.call('PEXPIREAT', KEYS[1], ARGV[2]) end
return 1
`;

/**
 * KEYS[1]=a session's rotated-out IDs (set); ARGV: key prefix, handle. Deletes every listed
 * record that is a tombstone of this handle (never a live record), and the set: the end of a
 * session in one step. It names keys it does not declare (the tombstones), so it runs only
 * on a single Redis; a Cluster runs TAKE_SET, then DROP_TOMBSTONE per member. Returns how
 * many tombstones it deleted.
 */
export const DROP_TOMBSTONES = `
local n = 0
for _, m in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local rk = ARGV[1] .. 's:{' .. m .. '}'
  local f = redis.call('HMGET', rk, 'n', 'h')
  if f[1] and f[2] == ARGV[2] then
    redis.call('DEL', rk)
    n = n + 1
  end
end
redis.call('DEL', KEYS[1])
return n
`;

/** KEYS[1]=a set. Returns its members and deletes it, atomically (exactly one caller gets them). */
export const TAKE_SET = `
local m = redis.call('SMEMBERS', KEYS[1])
redis.call('DEL', KEYS[1])
return m
`;

/** KEYS[1]=record; ARGV: handle. Deletes it only if it is a tombstone of this handle; returns 1 if it did. */
export const DROP_TOMBSTONE = `
local f = redis.call('HMGET', KEYS[1], 'n', 'h')
if f[1] and f[2] == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * KEYS[1]=a record's fence (same slot as the record). A write whose only purpose is to be
 * WAITed for: an end that found the record already gone (a retried logout whose first
 * attempt was not confirmed) is confirmed only once a replica has everything up to here.
 */
export const FENCE = `
redis.call('SET', KEYS[1], '1', 'PX', 60000)
return 1
`;

/**
 * KEYS[1]=a user's set, KEYS[2]=the user's sessions by age (one slot); ARGV: store key,
 * created at. A new session's index entries in one write, so that on a Cluster with durable
 * ends one WAIT confirms both before the record (on another master) is written.
 */
export const INDEX_ADD = `
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
`;

/** Every script of the Redis store's sessions, by role (registered with the client once). */
export const SCRIPT = {
  load: { name: 'kwLoad', lua: LOAD },
  patch: { name: 'kwPatch', lua: PATCH },
  take: { name: 'kwTake', lua: TAKE },
  takeMany: { name: 'kwTakeMany', lua: TAKE_MANY, manyKeys: true },
  lease: { name: 'kwLease', lua: LEASE },
  setIfAbsent: { name: 'kwSetIfAbsent', lua: SET_IF_ABSENT },
  rotate: { name: 'kwRotate', lua: ROTATE_CLAIM },
  trimUser: { name: 'kwTrimUser', lua: TRIM_USER },
  moveMember: { name: 'kwMoveMember', lua: MOVE_MEMBER, keys: 2 },
  addTombstone: { name: 'kwAddTombstone', lua: ADD_TOMBSTONE },
  dropTombstones: { name: 'kwDropTombstones', lua: DROP_TOMBSTONES },
  takeSet: { name: 'kwTakeSet', lua: TAKE_SET },
  dropTombstone: { name: 'kwDropTombstone', lua: DROP_TOMBSTONE },
  fence: { name: 'kwFence', lua: FENCE },
  indexAdd: { name: 'kwIndexAdd', lua: INDEX_ADD, keys: 2 },
} as const satisfies Record<string, RedisScript>;
