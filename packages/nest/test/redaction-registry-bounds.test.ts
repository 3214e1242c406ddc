import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as api from '../src/index.js';
import { MemoryStore, liveSecrets, resolveKeywardOptions, SessionKeyProvider } from '../src/index.js';
import { ADAPTERS } from './support/adapters.js';
import { AppClient } from './support/clients.js';
import { configError, problemAt } from './support/config-errors.js';
import { secret, vaultKey } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';

const DEV = { NODE_ENV: 'development' };
const value = (): string => `sv_${randomBytes(24).toString('base64url')}`;

// Issue 23, point 2: the per-user bound of the redaction registry counted per session, and
// sessions are uncapped by default: one account logging in again and again filled the user
// pool, after which every other user's putSession/putUser failed 503 KW_REDACTION_CAPACITY.
for (const adapter of ADAPTERS) {
  describe(`one user cannot fill the redaction registry's user pool by opening sessions (${adapter})`, () => {
    let app: RunningApp;
    before(async () => {
      app = await startTestApp(adapter, {
        session: { secrets: [secret()], store: new MemoryStore(), sweepIntervalMs: 0 },
        vault: { keys: [vaultKey('k1')] },
        credentials: { partner: new SessionKeyProvider() },
        redaction: { perUser: 4, userCapacity: 100 },
      });
    });
    after(() => app?.close());

    it('the 5th session value of one user is refused 409 KW_KEY_LIMIT whichever session holds it, and others keep storing theirs', async () => {
      const statuses: number[] = [];
      const codes = new Set<string>();
      // More sessions than the whole pool holds: before the fix each session had a bound of its own.
      for (let i = 0; i < 101; i++) {
        const c = new AppClient(app.url);
        assert.equal((await c.post('/login', { user: `mallory-${adapter}` })).status, 200);
        const r = await c.put('/session-keys/partner', { key: value() });
        statuses.push(r.status);
        if (r.status !== 204) codes.add(String(r.body?.code));
      }
      assert.deepEqual(statuses.slice(0, 4), [204, 204, 204, 204]);
      assert.equal(statuses.filter((s) => s === 204).length, 4, `stored: ${statuses.filter((s) => s === 204).length}`);
      assert.deepEqual([...codes], ['KW_KEY_LIMIT']);

      const bob = new AppClient(app.url);
      await bob.post('/login', { user: `bob-${adapter}` });
      const r = await bob.put('/session-keys/partner', { key: value() });
      assert.equal(r.status, 204, `bob: ${r.status} ${r.text}`);
    });
  });
}

describe('the registry is configured through the module, and there is only one (issue 23, point 4)', () => {
  it('KeywardModule options set the bounds of the registry everything uses', async () => {
    const app = await startTestApp('express', {
      session: { secrets: [secret()], store: new MemoryStore(), sweepIntervalMs: 0 },
      redaction: { capacity: 1234, perUser: 7 },
    });
    try {
      assert.equal(liveSecrets.bounds.capacity, 1234);
      assert.equal(liveSecrets.bounds.perUser, 7);
      assert.equal(liveSecrets.bounds.userCapacity, 20_000, 'unset bounds keep their default');
    } finally {
      await app.close();
    }
  });

  it('no second registry can be made from the package: the class is not exported (a second one was filled by nothing and scrubbed nothing)', () => {
    assert.equal((api as Record<string, unknown>).LiveSecrets, undefined);
    assert.equal(typeof api.liveSecrets.scrub, 'function');
    assert.equal(api.installStdioRedaction.length, 0, 'the stdio scrubber takes no registry');
  });

  it('bad bounds are reported with the others, each with its default', () => {
    const err = configError(() =>
      resolveKeywardOptions({ session: { secrets: [secret()], store: new MemoryStore() }, redaction: { capacity: -1, perUser: 'many', perUserBytes: 128 * 1024 * 1024, userCapcity: 5 } }, DEV),
    );
    assert.match(problemAt(err, 'redaction.capacity'), /whole number >= 100 \(default 20000\)/);
    assert.match(problemAt(err, 'redaction.perUser'), /got "many"/);
    assert.match(problemAt(err, 'redaction.perUserBytes'), /more than redaction.userMaxBytes/);
    assert.match(problemAt(err, 'redaction.userCapcity'), /userCapacity/);
  });
});
