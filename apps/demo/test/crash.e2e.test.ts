import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { freePort } from './support/ports.js';

const DEMO_MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));


async function startDemo(env: Record<string, string>): Promise<{ proc: ChildProcess; url: string }> {
  const port = await freePort();
  const proc = spawn(process.execPath, [DEMO_MAIN], { env: { ...process.env, NODE_ENV: 'development', HOST: '127.0.0.1', PORT: String(port), ...env }, stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) throw new Error(`demo exited with ${proc.exitCode}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { proc, url };
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('demo did not start');
}

describe('fault: embedded store, app SIGKILLed during a burst of logins', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kw-crash-'));
  const procs: ChildProcess[] = [];
  after(() => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('every acknowledged login is still valid after the restart, and the database is intact', async () => {
    // Every login is alice's: lift the per-user session cap (default 10), this test is about durability.
    const env = { KEYWARD_DATA_DIR: dir, UPSTREAM_PORT: String(await freePort()), KEYWARD_MAX_SESSIONS_PER_USER: '10000' };
    const first = await startDemo(env);
    procs.push(first.proc);
    const acknowledged: string[] = [];
    let stop = false;
    const login = async (): Promise<void> => {
      while (!stop) {
        try {
          const res = await fetch(`${first.url}/api/auth/login`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-csrf': '1', origin: first.url },
            body: JSON.stringify({ username: 'alice', password: 'alice-password' }),
          });
          const cookie = res.headers.getSetCookie().find((c) => c.startsWith('sid='));
          await res.text();
          if (res.status === 200 && cookie) acknowledged.push(cookie.split(';')[0]!);
        } catch {
          return; // the process died under us
        }
      }
    };
    const workers = Array.from({ length: 8 }, login);
    while (acknowledged.length < 150) await new Promise((r) => setTimeout(r, 10));
    first.proc.kill('SIGKILL');
    stop = true;
    await Promise.all(workers);
    if (first.proc.exitCode === null && first.proc.signalCode === null) await new Promise((r) => first.proc.once('exit', r));

    const db = new Database(join(dir, 'keyward.sqlite'), { readonly: true });
    const integrity = db.pragma('integrity_check', { simple: true });
    db.close();
    assert.equal(integrity, 'ok');

    const second = await startDemo(env);
    procs.push(second.proc);
    let valid = 0;
    for (const cookie of acknowledged) {
      const r = await fetch(`${second.url}/api/auth/session`, { headers: { cookie } });
      await r.text();
      if (r.status === 200) valid++;
    }
    console.log(`sqlite crash: ${acknowledged.length} acknowledged logins before SIGKILL, ${valid} valid after restart, integrity ${integrity}`);
    assert.equal(valid, acknowledged.length);
    second.proc.kill('SIGTERM');
  });
});
