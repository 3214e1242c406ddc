// Child processes of the harness: each started by us, stopped by its own PID.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const children = new Set();

/**
 * Starts `node <script>` with env; resolves when it prints `ready <port>`.
 * `nodeArgs` go before the script (e.g. --cpu-prof).
 */
export function startNode(name, script, env, { nodeArgs = [], timeoutMs = 60_000 } = {}) {
  const proc = spawn(process.execPath, [...nodeArgs, script], {
    env: { PATH: process.env.PATH, NODE_ENV: 'development', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${timeoutMs / 1000} s:\n${out}`)), timeoutMs);
    const onData = (d) => {
      out += d.toString();
      const m = /^ready (\d+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ name, proc, port: Number(m[1]), output: () => out });
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', (d) => (out += d.toString()));
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before it was ready:\n${out}`));
    });
  });
}

/** Starts a non-node process (redis-server) and tracks it for cleanup. */
export function track(proc) {
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  return proc;
}

/** Stops one child by its PID (SIGTERM, then SIGKILL after 5 s) and waits for it. */
export async function stop(proc) {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  try {
    process.kill(proc.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    if (proc.exitCode === null && proc.signalCode === null) {
      try {
        process.kill(proc.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }, 5000);
  await exited;
  clearTimeout(timer);
}

/** Stops every child we started, each by its PID. */
export async function stopAll() {
  await Promise.all([...children].map((p) => stop(p)));
}

/** Runs a command to completion; resolves with { code, stdout, stderr }. */
export function run(cmd, args, { env, cwd, input } = {}) {
  return new Promise((resolve) => {
    const proc = spawn(cmd, args, { env: env ?? process.env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    track(proc);
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => (stdout += d.toString()));
    proc.stderr.on('data', (d) => (stderr += d.toString()));
    proc.once('error', (e) => resolve({ code: -1, stdout, stderr: stderr + String(e) }));
    proc.once('close', (code) => resolve({ code, stdout, stderr }));
    if (input) proc.stdin.end(input);
    else proc.stdin.end();
  });
}
