import { StoreCorruptError } from '../keyward.errors.js';
import type { RedisCalls } from './redis-calls.js';
import { flatHash } from './redis-client.js';
import type { RedisKeys } from './redis-keys.js';
import { parseUserEntry } from './redis-record.js';
import type { UserEntry } from './session-store.interface.js';

/** A user's own named values on Redis: one hash per user (`ue:{user}`), an entry as JSON per field. */
export class RedisUserEntries {
  constructor(
    private readonly calls: RedisCalls,
    private readonly keys: RedisKeys,
  ) {}

  async all(userId: string): Promise<Record<string, UserEntry>> {
    const flat = flatHash(await this.calls.cmd('HGETALL', this.keys.userEntries(userId)));
    const out: Array<[string, UserEntry]> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const entry = parseUserEntry(flat[i + 1]!);
      if (entry) out.push([flat[i]!, entry]);
    }
    // Not `out[name] = entry`: an entry named `__proto__` would replace the prototype.
    return Object.fromEntries(out);
  }

  async set(userId: string, name: string, entry: UserEntry): Promise<void> {
    await this.calls.cmd('HSET', this.keys.userEntries(userId), name, JSON.stringify(entry));
  }

  async setIfAbsent(userId: string, name: string, entry: UserEntry): Promise<UserEntry> {
    const key = this.keys.userEntries(userId);
    await this.calls.cmd('HSETNX', key, name, JSON.stringify(entry));
    const raw = await this.calls.cmd('HGET', key, name);
    const stored = typeof raw === 'string' ? parseUserEntry(raw) : null;
    if (!stored) throw new StoreCorruptError('user entry');
    return stored;
  }

  async delete(userId: string, name: string): Promise<boolean> {
    return Number(await this.calls.cmd('HDEL', this.keys.userEntries(userId), name)) > 0;
  }

  scanUserIds(): AsyncIterable<string[]> {
    const open = this.keys.userEntriesOpen;
    return this.calls.scan(`${open}*`, (k) => k.slice(open.length, -1));
  }
}
