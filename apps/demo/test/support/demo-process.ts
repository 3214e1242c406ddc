/**
 * The demo app as a child process of the canary harness: started with a clean environment
 * (optionally with the token tap preloaded), its output captured byte for byte, stopped by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { TOKEN_TAP } from './canary-oauth.js';
import { DEMO_MAIN } from './processes.js';

/** A running demo app, its output captured byte for byte. */
export class DemoProcess {
  readonly stdout: Buffer[] = [];
  readonly stderr: Buffer[] = [];
  private exited: Promise<void>;

  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
  ) {
    child.stdout!.on('data', (c: Buffer) => this.stdout.push(c));
    child.stderr!.on('data', (c: Buffer) => this.stderr.push(c));
    // 'close', not 'exit': the last output bytes are in hand only once stdio has closed.
    this.exited = new Promise((resolve) => child.once('close', () => resolve()));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** `tap`: the token tap (token-tap.ts) preloaded, its fd 3 handed to `tap`. */
  static async start(env: Record<string, string>, tap?: (chunk: Buffer) => void): Promise<DemoProcess> {
    const base: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (/^(KEYWARD_|DEMO_|REDIS_URL$|UPSTREAM_PORT$|PORT$|HOST$|NODE_ENV$|NODE_OPTIONS$|NODE_TEST)/.test(k)) continue;
      base[k] = v;
    }
    const child = spawn(process.execPath, [...(tap ? ['--import', TOKEN_TAP] : []), DEMO_MAIN], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe', tap ? 'pipe' : 'ignore'] });
    if (tap) child.stdio[3]!.on('data', tap);
    const demo = new DemoProcess(child, `http://127.0.0.1:${env.PORT}`);
    track(demo);
    const deadline = Date.now() + 20_000;
    // Ready when *this* process says it listens (a port picked as free may be taken by another
    // process, which could answer /healthz too) and /healthz answers.
    const banner = `listening on ${demo.url} `;
    while (Date.now() < deadline) {
      if (!demo.running) throw new Error(`demo exited during startup:\n${demo.output().toString('utf8').slice(-2000)}`);
      if (!Buffer.concat(demo.stdout).includes(banner)) {
        await sleep(50);
        continue;
      }
      try {
        const res = await fetch(`${demo.url}/healthz`);
        await res.arrayBuffer();
        if (res.status === 200) return demo;
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    await demo.stop();
    throw new Error(`demo did not print "${banner.trim()}" and answer /healthz within 20 s:\n${demo.output().toString('utf8').slice(-2000)}`);
  }

  /** stdout then stderr, as captured so far. */
  output(): Buffer {
    return Buffer.concat([...this.stdout, ...this.stderr]);
  }

  /** SIGTERM by PID (graceful shutdown hooks run), SIGKILL after 5 s. Idempotent. */
  async stop(): Promise<void> {
    if (this.child.pid === undefined) return;
    if (!this.running) return this.exited;
    process.kill(this.child.pid, 'SIGTERM');
    const killed = await Promise.race([this.exited.then(() => false), sleep(5000, true, { ref: false })]);
    if (killed && this.running) {
      process.kill(this.child.pid, 'SIGKILL');
      await this.exited;
    }
  }
}

const running = new Set<DemoProcess>();
function track(p: DemoProcess): void {
  running.add(p);
  p.child.once('close', () => running.delete(p));
}

/** Stops every demo process still running (by PID). */
export async function stopDemoProcesses(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop()));
}
