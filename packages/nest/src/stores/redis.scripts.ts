// Lua scripts for the Redis store. Each touches exactly one key, so every atomic step
// stays in one hash slot and works unchanged on Redis Cluster.

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
if l and ie and ae and l <= now - after and math.min(ie, ae) > judge then
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

/** KEYS[1]=record; ARGV: setCount, k1, v1, ..., then names to delete. Returns 1, or 0 if gone. */
export const PATCH = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
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

/** KEYS[1]=lease; ARGV: owner, ttlMs. Returns 1 if the owner holds the lease now. */
export const LEASE = `
local cur = redis.call('GET', KEYS[1])
if cur == false or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
`;

/** KEYS[1]=record; ARGV: field, value. Sets the field if absent; returns its value, or false if no record. */
export const SET_IF_ABSENT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then redis.call('HINCRBY', KEYS[1], 'v', 1) end
return redis.call('HGET', KEYS[1], ARGV[1])
`;
