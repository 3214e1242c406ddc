import { Redis } from 'ioredis';

/**
 * A `@nestjs/throttler` storage on Redis (the kind apps share between instances, as the
 * Redis-backed throttler storages do): one MULTI of INCR, PEXPIRE NX and PTTL per hit, a
 * fixed window per key. Its client fails fast while Redis is down (no offline queue), so a
 * test can see what the proxy does when its limit storage is unreachable.
 */
export class RedisThrottlerStorage {
  readonly redis: Redis;

  constructor(url: string) {
    this.redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
    this.redis.on('error', () => {});
  }

  async increment(key: string, ttl: number, limit: number, _blockDuration: number, throttlerName: string) {
    const k = `thr:${throttlerName}:${key}`;
    const replies = await this.redis.multi().incr(k).pexpire(k, ttl, 'NX').pttl(k).exec();
    if (!replies || replies.some(([e]) => e)) throw new Error('throttler storage: MULTI failed');
    const totalHits = Number(replies[0]![1]);
    const seconds = Math.ceil(Number(replies[2]![1]) / 1000);
    const isBlocked = totalHits > limit;
    return { totalHits, timeToExpire: seconds, isBlocked, timeToBlockExpire: isBlocked ? seconds : 0 };
  }

  close(): void {
    this.redis.disconnect();
  }
}
