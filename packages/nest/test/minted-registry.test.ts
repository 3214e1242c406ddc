import 'reflect-metadata';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SqliteStore, liveSecrets } from '../src/index.js';
import { bffOptions } from './support/bff-options.js';
import { PageClient } from './support/clients.js';
import { FakeClock } from './support/fake-clock.js';
import { HttpKeyIssuer } from './support/key-issuer.js';
import { secret } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import { upstreamSuite, type UpstreamHandle } from './support/upstream.js';
import { waitFor } from './support/wait-for.js';

// Regression (issue 18, the soak's memory): a minted key stayed in the redaction registry
// after its revocation was confirmed, until 20,000 newer values pushed it out, so the
// registry grew with every login instead of following the live keys. A revoked key now
// leaves the registry (and the proxy's forms cache) once the issuer confirms it; a key
// whose revocation failed stays scrubbed while it can still be used.

const MIN = 60_000;
const tmp = mkdtempSync(join(tmpdir(), 'kw-mk-registry-'));
const ADMIN = secret();
let upstream: UpstreamHandle;

upstreamSuite({ serverKeys: [{ id: 'server-1', key: secret() }], adminToken: ADMIN }, (u) => (upstream = u));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('minted keys leave the redaction registry when their revocation is confirmed', () => {
  let bff: RunningApp;
  let issuer: HttpKeyIssuer;
  const clock = new FakeClock();

  before(async () => {
    issuer = new HttpKeyIssuer(upstream.url, ADMIN);
    const options = bffOptions({
      store: new SqliteStore({ file: join(tmp, 'registry.sqlite') }),
      upstreamUrl: upstream.url,
      serverKeys: [secret()],
      issuer,
      clock,
      rotateEveryMs: 10 * MIN,
      graceMs: MIN,
      session: { idleTimeoutMs: 60 * MIN, absoluteTimeoutMs: 12 * 60 * MIN },
    });
    bff = await startTestApp('express', options);
  });
  after(async () => {
    await bff?.close();
    await issuer?.close();
  });

  async function mintedKey(page: PageClient): Promise<{ id: string; key: string }> {
    const r = await page.get('/api/proxy/minted/echo');
    assert.equal(r.status, 200, r.text);
    const id = r.body.keyId as string;
    return { id, key: issuer.minted.get(id)!.key };
  }

  it('logout: the revoked key is no longer tracked; another session\'s key still is', async () => {
    const page = new PageClient(bff.url);
    const other = new PageClient(bff.url);
    assert.equal((await page.post('/login', { user: 'reg-a' })).status, 200);
    assert.equal((await other.post('/login', { user: 'reg-b' })).status, 200);
    const mine = await mintedKey(page);
    const theirs = await mintedKey(other);
    assert.ok(liveSecrets.contains(`log ${mine.key}`), 'scrubbed while the session lives');
    const before = liveSecrets.stats().runtime;

    assert.equal((await page.post('/logout')).status, 204);
    assert.equal((await issuer.status(mine.id))?.active, false, 'revoked at logout');
    assert.equal(liveSecrets.contains(`log ${mine.key}`), false, 'the revoked key left the registry');
    assert.equal(liveSecrets.stats().runtime, before - 1);
    assert.ok(liveSecrets.contains(`log ${theirs.key}`), 'the other session\'s key is still scrubbed');
    assert.equal((await other.post('/logout')).status, 204);
    assert.equal(liveSecrets.contains(`log ${theirs.key}`), false);
  });

  it('rotation: the rotated-out key leaves once its revocation after the grace is confirmed; the new one stays', async () => {
    const page = new PageClient(bff.url);
    assert.equal((await page.post('/login', { user: 'reg-rot' })).status, 200);
    const first = await mintedKey(page);
    clock.advance(10 * MIN + 1);
    const second = await mintedKey(page);
    assert.notEqual(second.id, first.id, 'rotated');
    assert.ok(liveSecrets.contains(first.key), 'the old key is scrubbed during its grace');
    clock.advance(MIN + 1);
    await mintedKey(page); // the next call revokes the retired key in the background
    await waitFor(async () => (await issuer.status(first.id))?.active === false, 5_000, () => `${first.id} revoked`);
    await waitFor(() => !liveSecrets.contains(first.key), 5_000, () => 'the retired key to leave the registry');
    assert.ok(liveSecrets.contains(second.key), 'the current key is still scrubbed');
    assert.equal((await page.post('/logout')).status, 204);
    assert.equal(liveSecrets.contains(second.key), false);
  });
});
