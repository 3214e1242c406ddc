/**
 * Issue 23 (high): behind the TLS proxy production requires, 20 failed logins from anyone
 * locked every user out for 5 minutes: the demo counted failures by the TCP peer, which is
 * the proxy for everyone. With KEYWARD_TRUST_PROXY=loopback the client is the address the
 * proxy reports in X-Forwarded-For (the library's ClientAddress, by the same trust rule as
 * the HTTPS decision); without it, a client's X-Forwarded-For is never believed. Against the
 * real demo and upstream processes, on both adapters.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Child, DEMO_MAIN, UPSTREAM_MAIN, answers200, cleanEnv, freePort, responds } from './support/processes.js';

/** The demo's default KEYWARD_LOGIN_FAILURES_PER_CLIENT. */
const PER_CLIENT = 20;

async function login(base: string, forwardedFor: string | undefined, username: string, password: string): Promise<{ status: number; code?: string }> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-csrf': '1', origin: base };
  if (forwardedFor !== undefined) headers['x-forwarded-for'] = forwardedFor;
  const r = await fetch(`${base}/api/auth/login`, { method: 'POST', headers, body: JSON.stringify({ username, password }) });
  const body = (await r.json().catch(() => ({}))) as { code?: string };
  return { status: r.status, code: body.code };
}

for (const adapter of ['express', 'fastify'] as const) {
  for (const trusted of [true, false]) {
    describe(`demo login limits count the client ${trusted ? 'the trusted proxy reports' : 'by its own address'} (${adapter}, KEYWARD_TRUST_PROXY=${trusted ? 'loopback' : 'unset'})`, () => {
      const dataDir = mkdtempSync(join(tmpdir(), `kw-demo-trust-${adapter}-`));
      let upstream: Child;
      let demo: Child;
      let base: string;

      before(async () => {
        const [upstreamPort, port] = await Promise.all([freePort(), freePort()]);
        base = `http://127.0.0.1:${port}`;
        const env = { HOST: '127.0.0.1', UPSTREAM_PORT: String(upstreamPort), DEMO_UPSTREAM_KEY: `tp_${randomBytes(24).toString('base64url')}`, DEMO_UPSTREAM_ADMIN_TOKEN: `adm_${randomBytes(24).toString('base64url')}` };
        upstream = await Child.start('upstream', UPSTREAM_MAIN, cleanEnv(env), () => responds(`http://127.0.0.1:${upstreamPort}/internal/none`));
        demo = await Child.start(
          'demo',
          DEMO_MAIN,
          cleanEnv({ ...env, PORT: String(port), KEYWARD_DATA_DIR: dataDir, KEYWARD_ADAPTER: adapter, KEYWARD_DEMO_TEST_PASSWORD_HASH: '1', ...(trusted ? { KEYWARD_TRUST_PROXY: 'loopback' } : {}) }),
          () => answers200(`${base}/healthz`),
          40_000,
        );
      });
      after(async () => {
        await demo?.stop();
        await upstream?.stop();
        rmSync(dataDir, { recursive: true, force: true });
      });

      it(trusted ? 'one client\'s 20 failures block that client only; another client behind the same proxy logs in' : 'a client cannot escape its count by sending X-Forwarded-For', async () => {
        // One client sprays usernames, each attempt with a forwarded address of its choosing
        // appended by the (trusted) proxy: the proxy's own entry is the last.
        for (let n = 1; n <= PER_CLIENT; n++) {
          const forwarded = trusted ? `10.9.9.${n}, 203.0.113.5` : `198.51.100.${n}`;
          const r = await login(base, forwarded, `spray-${n}`, 'guess');
          assert.equal(r.status, 401, `failure ${n}: ${r.status} ${r.code}`);
        }
        const limited = await login(base, trusted ? '203.0.113.5' : '198.51.100.99', 'spray-21', 'guess');
        assert.equal(limited.status, 429, 'the attempt after the 20th failure of this client');
        assert.equal(limited.code, 'KW_LOGIN_RATE_LIMITED');
        const other = await login(base, trusted ? '198.51.100.7' : undefined, 'alice', 'alice-password');
        if (trusted) assert.equal(other.status, 200, `another client behind the proxy: ${other.status} ${other.code}`);
        else assert.equal(other.status, 429, 'untrusted X-Forwarded-For is ignored: the same peer is the same client');
      });
    });
  }
}
