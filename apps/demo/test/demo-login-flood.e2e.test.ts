/**
 * Issue 23 (medium): logins denied to everyone through the bounded password hasher. Many
 * source addresses each sending wrong passwords kept the hasher's wait line full, so every
 * login, a real user's too, answered 503 KW_LOGIN_BUSY, and the refusals never counted
 * against the attackers. Against the real demo and upstream processes, on both adapters:
 * attackers on 127.0.0.2-101 flood with wrong passwords while a user on 127.0.0.250 logs in
 * with the right one (loopback source addresses chosen with http's `localAddress`; the demo
 * tells clients apart by the TCP peer address).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Child, DEMO_MAIN, UPSTREAM_MAIN, answers200, cleanEnv, freePort, responds } from './support/processes.js';

/** More addresses than the hasher holds (2 running + 64 waiting), as in the review. */
const ATTACKERS = 100;
/** The demo's default KEYWARD_LOGIN_FAILURES_PER_CLIENT. */
const PER_CLIENT = 20;
/** An attacker stops here if it is never counted out (the code before the fix). */
const ATTEMPT_CAP = 3 * PER_CLIENT;
const USER_LOGINS = 10;

interface Answer {
  status: number;
  code: string | undefined;
}

/** POST /api/auth/login from `localAddress` (one keep-alive connection per client). */
function login(base: URL, agent: Agent, localAddress: string, username: string, password: string): Promise<Answer> {
  const body = JSON.stringify({ username, password });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: base.hostname,
        port: base.port,
        path: '/api/auth/login',
        method: 'POST',
        agent,
        localAddress,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-csrf': '1', origin: base.origin },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          let code: string | undefined;
          try {
            code = (JSON.parse(text) as { code?: string }).code;
          } catch {
            code = undefined;
          }
          resolve({ status: res.statusCode ?? 0, code });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** One attacker address's tally. */
interface Tally {
  failed: number;
  busy: number;
  limited: boolean;
  other: string[];
}

for (const adapter of ['express', 'fastify'] as const) {
  describe(`demo logins under a flood from many addresses (${adapter}, real demo + upstream processes)`, () => {
    const dataDir = mkdtempSync(join(tmpdir(), `kw-demo-flood-${adapter}-`));
    let upstream: Child;
    let demo: Child;
    let base: URL;
    const agents: Agent[] = [];
    const agent = (): Agent => {
      const a = new Agent({ keepAlive: true, maxSockets: 1 });
      agents.push(a);
      return a;
    };

    before(async () => {
      const [upstreamPort, port] = await Promise.all([freePort(), freePort()]);
      base = new URL(`http://127.0.0.1:${port}`);
      const env = { HOST: '127.0.0.1', UPSTREAM_PORT: String(upstreamPort), DEMO_UPSTREAM_KEY: `flood_${randomBytes(24).toString('base64url')}`, DEMO_UPSTREAM_ADMIN_TOKEN: `adm_${randomBytes(24).toString('base64url')}` };
      upstream = await Child.start('upstream', UPSTREAM_MAIN, cleanEnv(env), () => responds(`http://127.0.0.1:${upstreamPort}/internal/none`));
      // The hasher's bounds are the demo's defaults; the hash itself is the test-only cheap
      // one, so the flood is short (the bounds and the lanes are the same).
      demo = await Child.start(
        'demo',
        DEMO_MAIN,
        cleanEnv({ ...env, PORT: String(port), KEYWARD_DATA_DIR: dataDir, KEYWARD_ADAPTER: adapter, KEYWARD_DEMO_TEST_PASSWORD_HASH: '1' }),
        () => answers200(`${base.origin}/healthz`),
        40_000,
      );
    });
    after(async () => {
      for (const a of agents) a.destroy();
      await demo?.stop();
      await upstream?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('regression 23: a user logs in while the hasher is full; every flooding address is counted out (429), busy refusals included', async () => {
      const tallies: Tally[] = Array.from({ length: ATTACKERS }, () => ({ failed: 0, busy: 0, limited: false, other: [] }));
      let answered = 0;
      let blocked = 0;
      const attack = async (i: number): Promise<void> => {
        const address = `127.0.0.${i + 2}`;
        const a = agent();
        const t = tallies[i]!;
        for (let n = 0; n < ATTEMPT_CAP; n++) {
          const r = await login(base, a, address, `flood-${i}-${n}`, 'wrong-password');
          answered++;
          if (r.status === 401 && r.code === 'KW_LOGIN_FAILED') t.failed++;
          else if (r.status === 503 && r.code === 'KW_LOGIN_BUSY') t.busy++;
          else if (r.status === 429 && r.code === 'KW_LOGIN_RATE_LIMITED') {
            t.limited = true;
            blocked++;
            return;
          } else t.other.push(`${r.status} ${r.code}`);
        }
      };
      const flood = Promise.all(tallies.map((_, i) => attack(i)));

      // The user's logins are spread over the flood by counting the attackers' answers (no
      // clock): each waits until the attackers have had 40 more answers.
      const user = agent();
      const results: Answer[] = [];
      let stillFlooding = 0;
      for (let k = 0; k < USER_LOGINS; k++) {
        const mark = 40 * (k + 1);
        while (answered < mark && blocked < ATTACKERS) await new Promise((r) => setImmediate(r));
        results.push(await login(base, user, '127.0.0.250', 'alice', 'alice-password'));
        if (blocked < ATTACKERS) stillFlooding++;
      }
      await flood;

      const busy = tallies.reduce((s, t) => s + t.busy, 0);
      const ok = results.filter((r) => r.status === 200).length;
      assert.deepEqual(tallies.flatMap((t) => t.other), [], 'attackers got only 401, 503 KW_LOGIN_BUSY and 429');
      assert.ok(busy > 0, 'the flood filled the hasher (some attempts were refused as busy)');
      assert.equal(stillFlooding, USER_LOGINS, 'every one of the user\'s logins was answered while attackers were still sending');
      assert.ok(ok >= USER_LOGINS - 1, `the user logged in ${ok} times of ${USER_LOGINS}: ${results.map((r) => r.code ?? r.status).join(' ')}`);
      const counted = tallies.map((t) => t.failed + t.busy);
      assert.equal(tallies.filter((t) => t.limited).length, ATTACKERS, `every flooding address reached 429 (busy refusals per address: ${tallies.map((t) => t.busy).join(',')})`);
      assert.ok(Math.max(...counted) <= PER_CLIENT, `at most ${PER_CLIENT} answered attempts (failures and busy refusals) per address before 429; most: ${Math.max(...counted)}`);
      assert.equal(demo.process.exitCode, null, 'the demo is still running');
    });
  });
}
