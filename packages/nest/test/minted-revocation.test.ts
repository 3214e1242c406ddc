import 'reflect-metadata';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MintedKeyProvider, SqliteStore, liveSecrets, type KeyIssuer } from '../src/index.js';
import { bffOptions } from './support/bff-options.js';
import { PageClient } from './support/clients.js';
import { HttpKeyIssuer } from './support/key-issuer.js';
import { freePort } from './support/redis-server.js';
import { secret } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import { upstreamSuite, type UpstreamHandle } from './support/upstream.js';
import { waitFor } from './support/wait-for.js';

// A minted key whose revocation fails at logout (the issuer is unreachable) is revoked
// later, in the background, once the issuer answers again: it does not wait for its TTL.

const tmp = mkdtempSync(join(tmpdir(), 'kw-revoke-'));
const ADMIN = secret();
let upstream: UpstreamHandle;

upstreamSuite({ serverKeys: [{ id: 'server-1', key: secret() }], adminToken: ADMIN }, (u) => (upstream = u));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Mints at the real upstream; revokes through an address where nothing listens until `recover()`. */
class OutageIssuer implements KeyIssuer {
  revokeAttempts = 0;
  private down = true;
  constructor(
    private readonly real: HttpKeyIssuer,
    private readonly unreachable: HttpKeyIssuer,
  ) {}
  mint(req: Parameters<KeyIssuer['mint']>[0]): ReturnType<KeyIssuer['mint']> {
    return this.real.mint(req);
  }
  /** While down, every other attempt throws synchronously instead of rejecting, as a careless issuer might. */
  revoke(id: string): Promise<void> {
    this.revokeAttempts++;
    if (this.down && this.revokeAttempts % 2 === 0) throw new Error('issuer client not connected');
    return (this.down ? this.unreachable : this.real).revoke(id);
  }
  recover(): void {
    this.down = false;
  }
  fail(): void {
    this.down = true;
  }
}

describe('minted-key revocation retried after an issuer outage', () => {
  let bff: RunningApp;
  let real: HttpKeyIssuer;
  let unreachable: HttpKeyIssuer;
  let issuer: OutageIssuer;
  let provider: MintedKeyProvider;

  before(async () => {
    real = new HttpKeyIssuer(upstream.url, ADMIN);
    unreachable = new HttpKeyIssuer(`http://127.0.0.1:${await freePort()}`, ADMIN);
    issuer = new OutageIssuer(real, unreachable);
    const options = bffOptions({ store: new SqliteStore({ file: join(tmp, 'revoke.sqlite') }), upstreamUrl: upstream.url, serverKeys: [secret()], issuer, revokeRetryDelaysMs: [50, 100, 200, 400, 800] });
    provider = (options.credentials as Record<string, MintedKeyProvider>).minted!;
    bff = await startTestApp('express', options);
  });
  after(async () => {
    await bff?.close();
    await real?.close();
    await unreachable?.close();
  });

  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown): void => void uncaught.push(e);
  before(() => process.on('uncaughtException', onUncaught).on('unhandledRejection', onUncaught));
  after(() => process.off('uncaughtException', onUncaught).off('unhandledRejection', onUncaught));

  it('logout during the outage: the key still works at first, then is revoked once the issuer is back', async () => {
    const page = new PageClient(bff.url);
    assert.equal((await page.post('/login', { user: 'outage' })).status, 200);
    const r = await page.get('/api/proxy/minted/echo');
    assert.equal(r.status, 200, r.text);
    const keyId = r.body.keyId as string;
    const key = real.minted.get(keyId)!.key;

    assert.equal((await page.post('/logout')).status, 204, 'logout succeeds for the user even if the issuer is down');
    await waitFor(() => issuer.revokeAttempts >= 3, 5_000, () => `retries: ${issuer.revokeAttempts}`);
    assert.equal(provider.pendingRevocationCount, 1, 'one revocation waits for a retry');
    assert.equal((await real.status(keyId))?.active, true, 'not revoked while the issuer is unreachable');
    assert.ok(liveSecrets.contains(key), 'a key that still works stays scrubbed');

    issuer.recover();
    await waitFor(async () => (await real.status(keyId))?.active === false, 10_000, () => `${keyId} revoked after recovery`);
    const direct = await fetch(`${upstream.url}/v1/echo`, { headers: { 'x-api-key': key } });
    assert.equal(direct.status, 401, 'the revoked key no longer authenticates');
    await waitFor(() => provider.pendingRevocationCount === 0, 5_000, () => `pending: ${provider.pendingRevocationCount}`);
    assert.equal(liveSecrets.contains(key), false, 'revoked on the retry: it left the redaction registry');
    assert.deepEqual(uncaught, [], 'a throwing issuer never becomes an uncaught error');
  });

  it('close() (application shutdown) stops pending retries: no more calls to the issuer', async () => {
    const page = new PageClient(bff.url);
    assert.equal((await page.post('/login', { user: 'shutdown' })).status, 200);
    assert.equal((await page.get('/api/proxy/minted/echo')).status, 200);
    issuer.fail();
    const before = issuer.revokeAttempts;
    assert.equal((await page.post('/logout')).status, 204);
    await waitFor(() => provider.pendingRevocationCount === 1, 5_000, () => `pending: ${provider.pendingRevocationCount}`);
    provider.close();
    assert.equal(provider.pendingRevocationCount, 0);
    const attempts = issuer.revokeAttempts;
    assert.ok(attempts > before, 'the logout tried to revoke');
    await new Promise((r) => setTimeout(r, 400)); // past the first retry delays (50, 100, 200 ms)
    assert.equal(issuer.revokeAttempts, attempts, 'no retry after close()');
    issuer.recover();
  });

  it('revokeRetryDelaysMs is validated', () => {
    assert.throws(() => new MintedKeyProvider({ issuer, revokeRetryDelaysMs: [0] }), /revokeRetryDelaysMs\[0\]/);
    assert.throws(() => new MintedKeyProvider({ issuer, revokeRetryDelaysMs: Array(11).fill(10) }), /at most 10/);
  });
});
