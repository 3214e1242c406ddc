import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { MIN_SECRET_BITS, secretStrength, secretWeakness } from '../src/index.js';

// Issue 23, point 10: the entropy estimator took keyboard walks and a constant date string
// for 235-369-bit secrets, and production accepted them as session secrets.
describe('keyboard walks and dates are not random (regression: 235-369-bit walks)', () => {
  const walks = [
    '1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik,9ol.0p;/-[\'=]',
    '!QAZ@WSX#EDC$RFV%TGB^YHN&UJM*IK<(OL>)P:?_{"+}',
    'qwertyuiopasdfghjklzxcvbnmQWERTYUIOPASDFGHJKLZXCVBNM1234567890',
    'qwertyuiop[]asdfghjkl;\'zxcvbnm,./QWERTYUIOP{}ASDFGHJKL:"ZXCVBNM<>?',
    'zaq12wsxcde34rfvbgt56yhnmju78ik,.lo90p;/-[\'',
    'poiuytrewqlkjhgfdsamnbvcxz0987654321POIUYTREWQLKJHGFDSAMNBVCXZ',
    'qazwsxedcrfvtgbyhnujmik,ol.p;/[\']',
    '1q2w3e4r5t6y7u8i9o0p1q2w3e4r5t6y7u8i9o0p',
  ];
  const dates = [
    new Date(1_765_150_958_000).toString(),
    new Date(0).toString(),
    'Mon Dec 07 2026 23:42:38 GMT+0000 (Coordinated Universal Time)',
    new Date(1_765_150_958_123).toISOString(),
    new Date(1_765_150_958_000).toUTCString(),
    '2026-12-07 23:42:38.123456+00:00 2026-12-07 23:42:38.123456+00:00',
    '20261207T234238Z-20261207T234238Z',
    'Monday, December 7, 2026 at 11:42:38 PM Coordinated Universal Time',
    '12/07/2026, 11:42:38 PM',
    `deploy-${new Date(1_765_150_958_000).toISOString()}`,
  ];
  for (const s of [...walks, ...dates]) {
    it(`refused: ${JSON.stringify(s).slice(0, 50)}`, () => {
      const { bits } = secretStrength(s);
      assert.ok(bits < MIN_SECRET_BITS, `${bits} bits`);
      assert.ok(secretWeakness(s), 'secretWeakness names the problem');
    });
  }

  it('random secrets keep their strength: 6,000 draws of 24 and 32 bytes, none refused', () => {
    for (let i = 0; i < 1000; i++) {
      for (const s of [
        randomBytes(32).toString('base64url'),
        randomBytes(32).toString('base64'),
        randomBytes(32).toString('hex'),
        randomBytes(24).toString('base64'),
        randomBytes(24).toString('base64url'),
        `prod-session-secret-${randomBytes(32).toString('base64url')}`,
      ]) assert.equal(secretWeakness(s), null, `length ${s.length}`);
    }
  });

  it('a date beside random bytes keeps the random part', () => {
    const s = `${new Date(1_765_150_958_000).toISOString()}-${randomBytes(32).toString('base64url')}`;
    assert.equal(secretWeakness(s), null);
  });
});
