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

  it('regression 23: a login refused as busy counts like a failure, for the client and the username', async () => {
    const storage = new ThrottlerStorageService();
    const limit = new LoginRateLimit(storage, DEFAULT_LOGIN_LIMITS);
    try {
      // One address refused as busy over and over (the hasher kept full): counted out at the limit.
      let refusals = 0;
      while (limit.retryAfter(`flood-${refusals}`, '10.3.3.3') === 0) {
        await limit.refused(`flood-${refusals}`, '10.3.3.3');
        refusals++;
        assert.ok(refusals <= 100, 'busy refusals are never counted');
      }
      assert.equal(refusals, DEFAULT_LOGIN_LIMITS.perClient);
      // One username refused as busy from many addresses: counted out at its limit.
      for (let i = 0; i < DEFAULT_LOGIN_LIMITS.perUsername; i++) await limit.refused('dave', `10.4.0.${i}`);
      assert.ok(limit.retryAfter('dave', '10.4.9.9') > 0, 'the username is blocked');
      // Failures and refusals add up.
      for (let i = 0; i < DEFAULT_LOGIN_LIMITS.perClient / 2; i++) await limit.failed(`mixed-a-${i}`, '10.5.5.5');
      for (let i = 0; i < DEFAULT_LOGIN_LIMITS.perClient / 2; i++) await limit.refused(`mixed-b-${i}`, '10.5.5.5');
      assert.ok(limit.retryAfter('anyone', '10.5.5.5') > 0);
    } finally {
      storage.onApplicationShutdown();
    }
  });

  it('regression 23: a client is clean (the hasher\'s first lane) until a failure or a busy refusal is counted in the window', async () => {
    const storage = new ThrottlerStorageService();
    const limit = new LoginRateLimit(storage, { ...DEFAULT_LOGIN_LIMITS, windowMs: 40 });
    try {
      assert.equal(limit.clean('10.6.6.1'), true);
      await limit.failed('erin', '10.6.6.1');
      await limit.refused('erin', '10.6.6.2');
      assert.equal(limit.clean('10.6.6.1'), false, 'after a failure');
      assert.equal(limit.clean('10.6.6.2'), false, 'after a busy refusal');
      assert.equal(limit.clean('10.6.6.3'), true, 'another client');
      assert.equal(storage.storage.size, 3, 'clean() wrote nothing');
      await sleep(60);
      assert.equal(limit.clean('10.6.6.1'), true, 'clean again once its count left the window');
      // Counting again drops the expired entries (the map holds one entry per client counted in the window).
      await limit.failed('erin', '10.6.6.9');
      assert.equal((limit as unknown as { countedUntil: Map<string, number> }).countedUntil.size, 1);
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
