import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { ThrottlerStorageService } from '@nestjs/throttler';
import { DEFAULT_LOGIN_LIMITS, LoginRateLimit } from '../src/auth/login-rate-limit.js';

/** One login attempt as the controller makes it: check, verify (a few ms), count a failure. */
async function wrongPassword(limit: LoginRateLimit, username: string, client: string): Promise<'401' | '429'> {
  return limit.serial(username, client, async () => {
    if (limit.retryAfter(username, client) > 0) return '429';
    await sleep(5); // the password hash
    await limit.failed(username, client);
    return '401';
  });
}

describe('LoginRateLimit (demo): checked and counted one at a time', () => {
  it('a burst of 12 guesses for one username sent together: 5 are checked, the rest refused', async () => {
    const storage = new ThrottlerStorageService();
    const limit = new LoginRateLimit(storage, DEFAULT_LOGIN_LIMITS);
    try {
      const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => wrongPassword(limit, 'bob', `10.0.0.${i}`)));
      assert.equal(answers.filter((a) => a === '401').length, DEFAULT_LOGIN_LIMITS.perUsername, answers.join(' '));
      assert.equal(answers.filter((a) => a === '429').length, 12 - DEFAULT_LOGIN_LIMITS.perUsername);
      const wait = limit.retryAfter('BOB', '10.9.9.9');
      assert.ok(wait > 0 && wait <= DEFAULT_LOGIN_LIMITS.blockMs / 1000, `blocked for ${wait} s, whatever the case of the name and the client`);
      assert.equal(limit.retryAfter('alice', '10.9.9.9'), 0, 'another username is not blocked');
    } finally {
      storage.onApplicationShutdown();
    }
  });

  it('a burst of 30 guesses over many usernames from one client: 20 are checked, the rest refused', async () => {
    const storage = new ThrottlerStorageService();
    const limit = new LoginRateLimit(storage, DEFAULT_LOGIN_LIMITS);
    try {
      const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => wrongPassword(limit, `spray-${i}`, '10.1.1.1')));
      assert.equal(answers.filter((a) => a === '401').length, DEFAULT_LOGIN_LIMITS.perClient);
      assert.ok(limit.retryAfter('someone-else', '10.1.1.1') > 0);
    } finally {
      storage.onApplicationShutdown();
    }
  });

  it('checking writes nothing to the storage (refused attempts leave no entries)', async () => {
    const storage = new ThrottlerStorageService();
    const limit = new LoginRateLimit(storage, DEFAULT_LOGIN_LIMITS);
    try {
      for (let i = 0; i < 50; i++) assert.equal(limit.retryAfter('carol', '10.2.2.2'), 0);
      assert.equal(storage.storage.size, 0);
    } finally {
      storage.onApplicationShutdown();
    }
  });
});
