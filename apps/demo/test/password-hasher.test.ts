import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { DemoUsers } from '../src/auth/demo-users.service.js';
import { PasswordHashBusyError, PasswordHasher, SCRYPT_PARAMS, SCRYPT_WORK_BYTES, TEST_ONLY_SCRYPT_PARAMS } from '../src/auth/password-hasher.js';
import { loadDemoConfig } from '../src/config/demo-config.js';

// Issue 18: the soak's native memory took a step of about 100 MiB from password hashing
// (scrypt's work memory, kept by glibc per libuv thread), and logins could occupy every
// pool thread at once. Hashing is now bounded in concurrency and waiting line, at an
// OWASP-listed scrypt setting (the demo's N=2^14,r=8,p=1 was below OWASP's minimum).

/** The OWASP Password Storage Cheat Sheet's scrypt minimums, as (log2 N, r, p). */
const OWASP_MINIMUMS = [
  [17, 8, 1],
  [16, 8, 2],
  [15, 8, 3],
  [14, 8, 5],
  [13, 8, 10],
];

describe('demo password hashing', () => {
  it('uses scrypt at one of OWASP\'s minimum settings, or stronger on both counts', () => {
    const { N, r, p } = SCRYPT_PARAMS as Required<typeof SCRYPT_PARAMS>;
    const ok = OWASP_MINIMUMS.some(([logN, rr, pp]) => N >= 2 ** logN! && r === rr && p >= pp!);
    assert.ok(ok, `N=${N} r=${r} p=${p} is below every OWASP minimum`);
    assert.equal(SCRYPT_WORK_BYTES, 128 * N * r);
  });

  it('computes at most `concurrent` hashes at once; the rest wait their turn and all finish', async () => {
    const hasher = new PasswordHasher({ concurrent: 2, waiting: 10 });
    let peak = 0;
    const salt = randomBytes(16);
    const runs = Array.from({ length: 6 }, (_, i) => {
      const h = hasher.hash(`password-${i}`, salt);
      peak = Math.max(peak, hasher.load.running);
      return h;
    });
    assert.deepEqual(hasher.load, { running: 2, waiting: 4, waitingFirst: 0 });
    const keys = await Promise.all(runs);
    assert.equal(peak, 2);
    assert.equal(new Set(keys.map((k) => k.toString('hex'))).size, 6, 'each password has its own hash');
    assert.deepEqual(hasher.load, { running: 0, waiting: 0, waitingFirst: 0 }, 'every slot returned');
  });

  it('refuses at once when the waiting line is full (no unbounded queue), and keeps working after', async () => {
    const hasher = new PasswordHasher({ concurrent: 1, waiting: 1 });
    const salt = randomBytes(16);
    const a = hasher.hash('password-a', salt);
    const b = hasher.hash('password-b', salt);
    await assert.rejects(hasher.hash('password-c', salt), PasswordHashBusyError);
    await Promise.all([a, b]);
    assert.equal((await hasher.hash('password-a', salt)).equals(await a), true, 'same password, same salt, same hash');
  });

  it('regression 23: the first lane has places of its own and is served before the common line', async () => {
    // One running, two waiting in the common line, one place kept for the first lane.
    const hasher = new PasswordHasher({ concurrent: 1, waiting: 2, reserved: 1 }, TEST_ONLY_SCRYPT_PARAMS);
    const salt = randomBytes(16);
    const order: string[] = [];
    const run = (name: string, first = false) => hasher.hash(name, salt, first).then(() => order.push(name));
    const common = [run('common-1'), run('common-2'), run('common-3')];
    await assert.rejects(hasher.hash('common-4', salt), PasswordHashBusyError, 'the common line is full');
    const first = run('first-1', true);
    assert.deepEqual(hasher.load, { running: 1, waiting: 2, waitingFirst: 1 }, 'a first-lane hash waits although the common line is full');
    await assert.rejects(hasher.hash('first-2', salt, true), PasswordHashBusyError, 'both lines full: refused');
    await Promise.all([...common, first]);
    assert.deepEqual(order, ['common-1', 'first-1', 'common-2', 'common-3'], 'the first lane takes the next free slot');
    assert.deepEqual(hasher.load, { running: 0, waiting: 0, waitingFirst: 0 });
    // With its places taken, a first-lane hash joins the common line while that has room.
    const again = new PasswordHasher({ concurrent: 1, waiting: 1, reserved: 0 }, TEST_ONLY_SCRYPT_PARAMS);
    const a = again.hash('a', salt);
    const b = again.hash('b', salt, true);
    assert.deepEqual(again.load, { running: 1, waiting: 1, waitingFirst: 0 });
    await Promise.all([a, b]);
  });

  it('a failing hash returns its slot', async () => {
    const hasher = new PasswordHasher({ concurrent: 1, waiting: 0 });
    await assert.rejects(hasher.hash(123 as unknown as string, randomBytes(16)), TypeError);
    assert.deepEqual(hasher.load, { running: 0, waiting: 0, waitingFirst: 0 });
    assert.equal((await hasher.hash('pw-after', randomBytes(16))).length, 32, 'the next hash runs');
  });

  it('validates its bounds once, naming each problem and the default', () => {
    assert.throws(
      () => new PasswordHasher({ concurrent: 0, waiting: -1, reserved: 1.5 }),
      /concurrent must be a positive integer \(got 0\).*waiting must be a non-negative integer \(got -1\).*reserved must be a non-negative integer \(got 1.5\); the default is 16/,
    );
  });

  it('DemoUsers checks passwords through the bounded hasher (right, wrong, unknown user)', async () => {
    const users = await DemoUsers.create(new Map([['alice', 'alice-password-1']]), { concurrent: 1, waiting: 4 });
    assert.equal(await users.verify('alice', 'alice-password-1'), 'alice');
    assert.equal(await users.verify('alice', 'wrong-password-1'), null);
    assert.equal(await users.verify('nobody', 'alice-password-1'), null);
    // Its bounds are the hasher's: with one running and none allowed to wait, a second
    // login at the same time is refused at once (the controller's 503 KW_LOGIN_BUSY).
    const tight = await DemoUsers.create(new Map([['alice', 'alice-password-1']]), { concurrent: 1, waiting: 0 });
    const first = tight.verify('alice', 'alice-password-1');
    await assert.rejects(tight.verify('alice', 'wrong-password-1'), PasswordHashBusyError);
    assert.equal(await first, 'alice', 'the login under way is not disturbed');
  });

  it('the test-only cheap hashing is refused in production and off by default', () => {
    const base = { KEYWARD_DATA_DIR: '/tmp' };
    assert.equal(loadDemoConfig(base).testPasswordHash, false);
    assert.equal(loadDemoConfig({ ...base, KEYWARD_DEMO_TEST_PASSWORD_HASH: '1' }).testPasswordHash, true);
    assert.throws(() => loadDemoConfig({ ...base, NODE_ENV: 'production', KEYWARD_DEMO_TEST_PASSWORD_HASH: '1' }), /KEYWARD_DEMO_TEST_PASSWORD_HASH: test-only password hashing below the OWASP minimum; refused in production/);
  });

  it('hashes with the parameters it was given (the default is the OWASP setting)', async () => {
    const salt = randomBytes(16);
    const owasp = await new PasswordHasher().hash('same-password', salt);
    const cheap = await new PasswordHasher({}, TEST_ONLY_SCRYPT_PARAMS).hash('same-password', salt);
    assert.notEqual(owasp.toString('hex'), cheap.toString('hex'));
  });
});
