import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
export { freePort } from './ports.js';

/** The built entry points (this file runs from apps/demo/dist/test/support/). */
export const DEMO_MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));
export const UPSTREAM_MAIN = fileURLToPath(new URL('../../../../demo-upstream/dist/src/main.js', import.meta.url));
export const IDP_MAIN = fileURLToPath(new URL('../../../../demo-idp/dist/src/main.js', import.meta.url));

/** The runner's environment minus anything that would change how the demo behaves. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (['NODE_ENV', 'REDIS_URL', 'REDIS_SENTINELS', 'REDIS_SENTINEL_MASTER', 'PORT', 'UPSTREAM_PORT', 'HOST'].includes(k) || k.startsWith('KEYWARD_') || k.startsWith('DEMO_')) continue;
    env[k] = v;
  }
  return { ...env, NO_COLOR: '1', ...extra };
}

/** A child process the suite started; its output is kept (for leak checks and failure messages). */
export class Child {
  output = '';
  readonly exited: Promise<number | null>;

  private constructor(
    readonly name: string,
    readonly process: ChildProcess,
  ) {
    process.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    process.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) => process.once('exit', (code) => resolve(code)));
  }

  /** Starts `node <script>` and resolves once `ready()` answers true (polled), or rejects with its output. */
  static async start(name: string, script: string, env: NodeJS.ProcessEnv, ready: () => Promise<boolean>, timeoutMs = 30_000): Promise<Child> {
    const child = new Child(name, spawn(process.execPath, [script], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void child.exited.then(() => (exited = true));
    while (Date.now() < deadline) {
      if (exited) throw new Error(`${name} exited during start:\n${child.output}`);
      if (await ready().catch(() => false)) return child;
      await new Promise((r) => setTimeout(r, 100));
    }
    await child.stop();
    throw new Error(`${name} was not ready after ${timeoutMs} ms:\n${child.output}`);
  }

  /** Stops this process by its PID (SIGTERM, then SIGKILL after 5 s) and waits for it. */
  async stop(): Promise<void> {
    const p = this.process;
    if (p.exitCode !== null || p.signalCode !== null) return;
    p.kill('SIGTERM');
    const timer = setTimeout(() => p.exitCode === null && p.signalCode === null && p.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** True when `url` answers at all (any status below 500): the process is listening. */
export async function responds(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.status < 500;
}

/** True when `url` answers 200. */
export async function answers200(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.status === 200;
}
